"""Delete a pod, and only the very pod the user selected (uid precondition)."""

from __future__ import annotations

from kdash.actions.http import api_error
from kdash.actions.safety import WriteContext, target_of
from kdash.core.kinds import POD
from kdash.errors import ApiException, KdashError


def delete_pod(ctx: WriteContext, namespace: str, name: str, uid: str | None = None) -> str:
    """Delete the pod (its controller replaces it); returns a one-line summary.

    With `uid`, the server refuses when the pod of that name is a different one, e.g. the
    replacement a StatefulSet created under the same name after the user selected it.
    """
    what = f"pod {namespace}/{name}"
    body: dict = {"apiVersion": "v1", "kind": "DeleteOptions", "propagationPolicy": "Background"}
    if uid:
        body["preconditions"] = {"uid": uid}
    with ctx.attempt("delete", target_of("Pod", namespace, name)) as attempt:
        try:
            attempt.send("DELETE", POD.object_path(namespace, name), body)
        except ApiException as exc:
            if exc.status == 409 and uid:
                raise KdashError("Pod replaced", f"{what} is no longer the selected pod (another pod "
                                 "now has its name); nothing was deleted") from exc
            raise api_error(exc, what) from exc
        attempt.detail = f"uid {uid}" if uid else ""
    return f"deleted {what}"
