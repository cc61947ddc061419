"""A typed CloudWatch dashboard body: widgets, metrics and expressions rendered to AWS's JSON.

Mirrors the documented structure (CloudWatch "Dashboard Body Structure and Syntax"): a body is
``{"widgets": [...]}``; a widget has ``type``, ``x``, ``y``, ``width``, ``height`` and
``properties``; a metric widget's ``properties.metrics`` is a list of arrays
``[namespace, metricName, dim1Name, dim1Value, ..., {rendering options}]`` or
``[{"expression": ..., "label": ..., "id": ...}]``. Only the parts mlplat uses are modelled.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Literal

GRID_WIDTH = 24  # CloudWatch dashboards are 24 units wide


@dataclass(frozen=True)
class Metric:
    namespace: str
    name: str
    dimensions: tuple[tuple[str, str], ...]
    stat: str | None = None
    label: str | None = None
    id: str | None = None
    visible: bool = True
    y_axis: Literal["left", "right"] = "left"

    def to_json(self) -> list:
        row: list = [self.namespace, self.name]
        for key, value in self.dimensions:
            row += [key, value]
        options = {
            key: value
            for key, value in (("stat", self.stat), ("label", self.label), ("id", self.id))
            if value is not None
        }
        if not self.visible:
            options["visible"] = False
        if self.y_axis != "left":
            options["yAxis"] = self.y_axis
        return [*row, options] if options else row


@dataclass(frozen=True)
class Expression:
    expression: str
    label: str
    id: str

    def to_json(self) -> list:
        return [{"expression": self.expression, "label": self.label, "id": self.id}]


@dataclass(frozen=True)
class HorizontalAnnotation:
    value: float
    label: str

    def to_json(self) -> dict:
        return {"value": self.value, "label": self.label}


@dataclass(frozen=True)
class MetricWidget:
    title: str
    region: str
    metrics: tuple[Metric | Expression, ...]
    width: int = 8
    height: int = 6
    stat: str = "Average"
    period: int = 60
    view: Literal["timeSeries", "singleValue"] = "timeSeries"
    annotations: tuple[HorizontalAnnotation, ...] = ()

    def properties(self) -> dict:
        properties: dict = {
            "title": self.title,
            "region": self.region,
            "view": self.view,
            "stacked": False,
            "stat": self.stat,
            "period": self.period,
            "metrics": [metric.to_json() for metric in self.metrics],
        }
        if self.annotations:
            properties["annotations"] = {"horizontal": [a.to_json() for a in self.annotations]}
        return properties

    type: Literal["metric"] = field(default="metric", init=False)


@dataclass(frozen=True)
class TextWidget:
    markdown: str
    width: int = GRID_WIDTH
    height: int = 1

    def properties(self) -> dict:
        return {"markdown": self.markdown}

    type: Literal["text"] = field(default="text", init=False)


Widget = MetricWidget | TextWidget


@dataclass(frozen=True)
class Dashboard:
    """Widgets in reading order; ``to_json`` places them left to right, wrapping at 24 units."""

    widgets: tuple[Widget, ...]

    def to_json(self) -> str:
        placed, x, y, row_height = [], 0, 0, 0
        for widget in self.widgets:
            if x + widget.width > GRID_WIDTH:
                x, y, row_height = 0, y + row_height, 0
            placed.append(
                {
                    "type": widget.type,
                    "x": x,
                    "y": y,
                    "width": widget.width,
                    "height": widget.height,
                    "properties": widget.properties(),
                }
            )
            x += widget.width
            row_height = max(row_height, widget.height)
        return json.dumps({"widgets": placed})
