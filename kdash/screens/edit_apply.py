"""Edit a ConfigMap in $EDITOR and apply a YAML file: each previewed by a server dry run, then confirmed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual import work

from kdash.actions import apply as apply_action
from kdash.actions import edit as edit_action
from kdash.actions.registry import BY_ID
from kdash.core import objects
from kdash.editor import edit_text, editor_command
from kdash.errors import KdashError
from kdash.render.tree import Node
from kdash.screens.flows.host import FlowHost
from kdash.screens.toasts import notify_error


class EditApply(FlowHost):
    """Mixed into the dashboard: `e` (edit) and `a` (apply)."""

    # -- edit (ConfigMaps) -------------------------------------------------------------------

    def action_edit(self) -> None:
        target = self._target("edit")
        if target is None:
            return
        node, _ = target
        try:
            editor_command()  # a missing or blank editor is said at once, before any request
        except KdashError as exc:
            notify_error(self.app, exc)
            return
        self._fetch_for_edit(node.kind, node.namespace or None, node.name)

    @work(thread=True, group="write-prep")
    def _fetch_for_edit(self, kind: str, namespace: str | None, name: str) -> None:
        # The store holds slimmed copies: edit the whole object as the API has it now.
        app = self.app
        connection = app.connection
        try:
            if connection is None:
                raise KdashError("Not connected", "no cluster connection")
            live = edit_action.fetch(connection.api_client, kind, namespace, name)
        except KdashError as exc:
            notify_error(app, exc)
            return
        app.call_from_thread(self._edit_in_editor, live, connection)

    def _edit_in_editor(self, live: dict, connection: Any) -> None:
        """Open the editor (UI thread: it has the terminal); invalid YAML reopens it with the error on top."""
        text = edit_action.document(live)
        refused: str | None = None
        while True:
            try:
                edited_text = edit_text(text, self.app.suspend, suffix=".yaml")
            except KdashError as exc:
                notify_error(self.app, exc)
                return
            body = edit_action.user_text(edited_text)
            if body == refused:
                self.app.notify("Edit cancelled: saved without fixing the error; nothing was changed",
                                severity="warning")
                return
            try:
                # Parsed with the header so that line numbers match the file the user saw.
                edited = edit_action.parse_edited(edited_text, live)
            except KdashError as exc:
                refused, text = body, edit_action.document(live, body, exc.message)
                continue
            break
        patch = edit_action.patch_for(live, edited) if edited is not None else None
        if patch is None:
            self.app.notify("No changes" if edited is not None else "Edit cancelled: empty file", timeout=3)
            return
        self._preview_edit(live, patch, connection)

    @work(thread=True, group="write-prep")
    def _preview_edit(self, live: dict, patch: dict, connection: Any) -> None:
        app = self.app
        try:
            result = edit_action.save(app.write_context(connection), live, patch, dry_run=True)
        except KdashError as exc:
            notify_error(app, exc)
            return
        meta = live["metadata"]
        what = f"{live['kind']} {meta.get('namespace')}/{meta['name']}"
        changes = edit_action.diff(live, result) or "no change"
        deleting = apply_action.deletion_warning(live)
        if deleting:
            changes = f"! {what} is {deleting}\n{changes}"
        from rich.syntax import Syntax  # pygments: not needed for the first frame

        app.call_from_thread(
            self.confirm_write, f"Save the edit of {what}?",
            Syntax(changes, "diff", theme="ansi_dark", background_color="default", word_wrap=True),
            lambda ctx: _saved(edit_action.save(ctx, live, patch), deleting), verb="Save",
            prepared_on=connection)

    # -- apply -----------------------------------------------------------------------------

    def action_apply(self) -> None:
        if not self.app.writable(BY_ID["apply"]):
            return
        from kdash.screens.modals import PromptScreen
        from kdash.widgets.path_suggester import PathSuggester

        self.app.push_screen(
            PromptScreen("Apply which YAML file?", "", hint="a path; tab completes",
                         placeholder="./manifest.yaml", suggester=PathSuggester()),
            self._apply_path)

    def _apply_path(self, text: str | None) -> None:
        if not text:
            return
        path = Path(text.strip()).expanduser()
        try:
            manifests = apply_action.parse_manifests(read_manifest_file(path), source=str(path))
        except KdashError as exc:
            notify_error(self.app, exc)
            return
        if not manifests:
            self.app.notify(f"Nothing to apply: {path} contains no objects", title="Apply",
                            severity="warning")
            return
        self._plan_apply(manifests, str(path), force=False)

    @work(thread=True, group="write-prep")
    def _plan_apply(self, manifests: list, source: str, force: bool) -> None:
        app = self.app
        connection = app.connection
        namespace = app.primary_namespace or (connection.namespace if connection else "default")
        try:
            plan = apply_action.plan(app.write_context(connection), manifests, namespace, force=force)
        except KdashError as exc:
            notify_error(app, exc)
            return
        app.call_from_thread(self._show_plan, plan, source, connection)

    def _show_plan(self, plan: apply_action.Plan, source: str, prepared_on: Any) -> None:
        from kdash.screens.apply_preview import ApplyPreviewScreen

        # A plan made on another context is not even shown; the apply goes where it was planned, or nowhere.
        if not self._same_connection(prepared_on):
            return

        def decided(answer: str | None) -> None:
            if answer == "apply":
                self._run_write(lambda ctx: apply_action.apply(ctx, plan), None, prepared_on,
                                self._watch_applied(plan, source))
            elif answer == "force":
                self._plan_apply(plan.manifests, source, force=True)

        self.app.push_screen(ApplyPreviewScreen(plan, source, self.app.context_name, self.app.protected),
                             decided)

    def _watch_applied(self, plan: apply_action.Plan, source: str) -> Callable[[str], None] | None:
        """The rollout watch of the first Deployment the apply changes (the others are named)."""
        changed = [(item.manifest.namespace or plan.default_namespace, item.manifest.name) for item in plan.items
                   if item.manifest.kind == "Deployment" and item.status == "changed"]
        found = [(obj, ns, name) for ns, name in changed
                 if (obj := self.app.store.get("Deployment", ns, name)) is not None]
        if not found:
            return None
        deployment, namespace, name = found[0]
        node = Node(key=f"Deployment/{namespace}/{name}", kind="Deployment", namespace=namespace, name=name,
                    uid=objects.uid(deployment), label=name, health="none")
        others = ", ".join(n for _, _, n in found[1:])
        detail = f"{source}" + (f" (also changes {others}: W on each watches it)" if others else "")
        from kdash.screens.flows import watch  # the rollout watch and its logs: not needed for the first frame

        return watch.watch_after(self, node, deployment, "apply", detail)


def _saved(result: dict, deleting: str) -> str:
    meta = objects.meta(result)
    what = f"{result.get('kind', 'object')} {meta.get('namespace')}/{meta.get('name')}"
    return f"saved {what}" + (f"; it is still {deleting}" if deleting else "")


def read_manifest_file(path: Path, limit: int = 5 * 1024 * 1024) -> str:
    """The file's text, or a KdashError that says plainly what is wrong with it."""
    try:
        if path.is_dir():
            raise KdashError("Not a file", f"{path} is a directory")
        size = path.stat().st_size
        if size > limit:
            raise KdashError("File too large", f"{path} is {size // 1024} KiB; the limit is {limit // 1024} KiB")
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise KdashError("File not found", f"{path} does not exist") from None
    except UnicodeDecodeError:
        raise KdashError("Not a text file", f"{path} is not UTF-8 text") from None
    except OSError as exc:
        raise KdashError("Cannot read file", f"{path}: {exc.strerror or exc}") from None
