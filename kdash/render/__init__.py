"""Pure renderers: raw API dicts → rows, rollout status and keyed tree nodes (no textual, no rich)."""

from kdash.render.details import EventRow, Section, describe, events_for, events_section
from kdash.render.format import age, ago, human_duration, parse_time, ports_text, short_image
from kdash.render.labels import Selector, parse_selector, selector_from_label_selector
from kdash.render.pods import PodRow, pod_row, pod_status
from kdash.render.rollout import Revision, RolloutStatus, history, revision_of, rollout_status
from kdash.render.tree import Node, build_service_tree, build_workload_tree, filter_tree, find, flatten

__all__ = [
    "EventRow", "Node", "PodRow", "Revision", "RolloutStatus", "Section", "Selector",
    "age", "ago", "build_service_tree", "build_workload_tree", "describe", "events_for", "events_section",
    "filter_tree", "find", "flatten", "history", "human_duration", "parse_selector", "parse_time",
    "pod_row", "pod_status", "ports_text", "revision_of", "rollout_status", "selector_from_label_selector",
    "short_image",
]
