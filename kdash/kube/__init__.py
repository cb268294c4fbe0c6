"""UI-free Kubernetes layer: kubeconfig/connection, list-watch reflectors and the object store."""
