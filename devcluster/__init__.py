"""A real local Kubernetes control plane for kdash's tests and demo."""
