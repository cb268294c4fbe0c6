"""RBAC pre-checks with SelfSubjectAccessReview, so the UI can grey out what the user may not do."""

from __future__ import annotations

from collections.abc import Iterable

from kdash.actions.http import request_json
from kdash.actions.registry import Action
from kdash.core.kinds import api_path
from kdash.kube.api import ApiClient

SSAR_PATH = api_path("authorization.k8s.io/v1", "selfsubjectaccessreviews")


def can_i(api_client: ApiClient, verb: str, group: str, resource: str, namespace: str | None) -> bool:
    """What `kubectl auth can-i VERB RESOURCE -n NS` answers; "deployments/scale" names a subresource."""
    resource, _, subresource = resource.partition("/")
    attributes = {"verb": verb, "group": group, "resource": resource}
    if subresource:
        attributes["subresource"] = subresource
    if namespace:
        attributes["namespace"] = namespace
    body = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
            "spec": {"resourceAttributes": attributes}}
    answer = request_json(api_client, "POST", SSAR_PATH, body)
    return bool((answer.get("status") or {}).get("allowed"))


def may_use(api_client: ApiClient, resource: str, namespace: str, verbs: Iterable[str]) -> bool:
    """Whether RBAC allows every verb on a pods subresource ("pods/exec") in `namespace`; a failing
    review allows: the server decides."""
    try:
        return all(can_i(api_client, verb, "", resource, namespace) for verb in verbs)
    except Exception:  # an old or locked-down server without SSAR, as in denied_actions
        return True


def denied_actions(api_client: ApiClient, actions: Iterable[Action], namespace: str | None) -> set[str]:
    """Ids of the actions whose RBAC check says no. A failing check denies nothing: the server decides."""
    denied: set[str] = set()
    answers: dict[tuple[str, str, str], bool] = {}

    def allowed(rbac: tuple[str, str, str]) -> bool:
        if rbac not in answers:
            verbs, group, resource = rbac
            try:
                answers[rbac] = all(can_i(api_client, verb, group, resource, namespace) for verb in verbs.split(","))
            except Exception:  # an old or locked-down server without SSAR: let the write itself answer
                answers[rbac] = True
        return answers[rbac]

    for action in actions:
        if action.rbac is not None and not allowed(action.rbac):
            denied.add(action.id)
        for kind, rbac in action.kind_rbac:
            if not allowed(rbac):
                denied.add(action.denial_key(kind))
    return denied
