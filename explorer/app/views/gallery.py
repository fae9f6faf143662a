"""A clickable grid of cutout images (one custom component, not 48 widgets).

Each item is ``{"id": int, "src": data-URL, "caption": str, "mark": str}``;
clicking an image or one of its action buttons sends ``{"id", "action"}`` back
to Python, where :attr:`CutoutGallery.on_action` is called. With
``on_inspect`` set, each tile also has a corner button (action ``inspect``)
that opens the source in the inspector instead.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence

import param
from panel.custom import JSComponent


def data_url(png: bytes) -> str:
    """``data:image/png;base64,...`` URL of PNG bytes."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


class CutoutGallery(JSComponent):
    """Grid of cutouts; ``actions`` are button labels shown under each image."""

    items = param.List(default=[], doc="[{id, src, caption, mark}]")
    actions = param.List(default=[], item_type=str, doc="button labels per image")
    tile = param.Integer(default=84, doc="image side in CSS pixels")
    empty_text = param.String(default="Nothing to show.")
    inspectable = param.Boolean(default=False, doc="show the inspect corner button")

    _esm = """
    export function render({ model, el }) {
      const root = document.createElement("div");
      root.className = "gallery";
      function draw() {
        root.innerHTML = "";
        root.style.setProperty("--tile", model.tile + "px");
        if (!model.items.length) {
          const p = document.createElement("div");
          p.className = "gallery-empty";
          p.textContent = model.empty_text;
          root.appendChild(p);
          return;
        }
        for (const item of model.items) {
          const fig = document.createElement("figure");
          fig.className = "tile" + (item.mark ? " mark-" + item.mark : "");
          fig.dataset.id = item.id;
          const img = document.createElement("img");
          img.src = item.src;
          img.title = item.caption;
          img.addEventListener("click", () =>
            model.send_msg({ id: item.id, action: "click" }));
          fig.appendChild(img);
          if (model.inspectable) {
            const zoom = document.createElement("button");
            zoom.className = "inspect";
            zoom.textContent = "⤢";
            zoom.title = "inspect " + item.id;
            zoom.addEventListener("click", (e) => {
              e.stopPropagation();
              model.send_msg({ id: item.id, action: "inspect" });
            });
            fig.appendChild(zoom);
          }
          const cap = document.createElement("figcaption");
          cap.textContent = item.caption;
          fig.appendChild(cap);
          if (model.actions.length) {
            const bar = document.createElement("div");
            bar.className = "actions";
            for (const action of model.actions) {
              const b = document.createElement("button");
              b.textContent = action;
              b.className = "act act-" + action;
              b.addEventListener("click", () =>
                model.send_msg({ id: item.id, action: action }));
              bar.appendChild(b);
            }
            fig.appendChild(bar);
          }
          root.appendChild(fig);
        }
      }
      draw();
      model.on("items", draw);
      model.on("actions", draw);
      model.on("inspectable", draw);
      return root;
    }
    """

    _stylesheets = [
        """
    .gallery { display: flex; flex-wrap: wrap; gap: 6px; align-content: flex-start; }
    .gallery-empty { color: #9aa4b2; font-size: 13px; padding: 8px; }
    .tile { margin: 0; width: var(--tile); display: flex; flex-direction: column;
            align-items: center; border: 2px solid transparent; border-radius: 4px;
            position: relative; }
    .tile .inspect { position: absolute; top: 2px; right: 2px; font-size: 10px;
                     padding: 0 3px; background: rgba(13,17,23,0.7); color: #7df9ff;
                     border: none; border-radius: 3px; cursor: pointer; }
    .tile img { width: var(--tile); height: var(--tile); image-rendering: pixelated;
                cursor: pointer; border-radius: 3px; background: #000; }
    .tile img:hover { outline: 2px solid #7df9ff; }
    .tile figcaption { font-size: 10px; color: #c9d1d9; white-space: nowrap;
                       overflow: hidden; text-overflow: ellipsis;
                       max-width: var(--tile); }
    .tile.mark-positive, .tile.mark-interesting { border-color: #3fb950; }
    .tile.mark-negative, .tile.mark-boring { border-color: #f85149; }
    .tile.mark-artefact { border-color: #d29922; border-style: dashed; }
    .tile.mark-query { border-color: #7df9ff; }
    .actions { display: flex; gap: 2px; }
    .act { font-size: 10px; padding: 0 4px; background: #21262d; color: #c9d1d9;
           border: 1px solid #30363d; border-radius: 3px; cursor: pointer; }
    .act:hover { background: #30363d; }
    """
    ]

    def __init__(
        self,
        on_action: Callable[[int, str], None] | None = None,
        on_inspect: Callable[[int], None] | None = None,
        **params,
    ):
        super().__init__(inspectable=on_inspect is not None, **params)
        self.on_action = on_action
        self.on_inspect = on_inspect

    def _handle_msg(self, msg) -> None:
        if not isinstance(msg, dict):
            return
        source_id, action = int(msg["id"]), str(msg["action"])
        if action == "inspect" and self.on_inspect is not None:
            self.on_inspect(source_id)
        elif self.on_action is not None:
            self.on_action(source_id, action)

    def show(
        self,
        ids: Sequence[int],
        pngs: Sequence[bytes],
        captions: Sequence[str],
        marks: Sequence[str] | None = None,
    ) -> None:
        """Replace the items."""
        marks = marks or [""] * len(ids)
        self.items = [
            {"id": int(i), "src": data_url(p), "caption": c, "mark": m}
            for i, p, c, m in zip(ids, pngs, captions, marks, strict=True)
        ]
