"""How the page looks: the theme, the CSS and a small accessibility patch, passed to
``launch`` by ``app.py`` (Gradio 6 takes them there, not in ``Blocks``).

The theme is Gradio's default with the colours that fail WCAG AA contrast replaced:
subdued text (#bbbbc2 on white, 1.9:1), input placeholders, and white on the orange
primary button (2.8:1). The browser suite runs axe-core on every tab.
"""

from __future__ import annotations

from typing import Any

_PHONE_COLUMNS = ((1, 60, 0), (2, 144, 60), (3, 64, 204))  # (column, width px, left px)


def _phone_table_css() -> str:
    """At phone width the board's first three columns (rank, model, score) get fixed
    widths and stay pinned while the rest scroll inside the table. Gradio sizes cells
    from their content with inline styles, hence !important."""
    rules = []
    for table in ("#board-table", "#home-board"):
        for column, width, left in _PHONE_COLUMNS:
            cells = f"{table} th:nth-child({column}), {table} td:nth-child({column})"
            rules.append(f"{cells} {{width: {width}px !important; min-width: {width}px "
                         f"!important; max-width: {width}px !important; position: sticky "
                         f"!important; left: {left}px !important; z-index: 3; "
                         "background-color: var(--background-fill-primary);}")
        rules.append(f"{table} td:nth-child(2) .cell-wrap {{overflow: hidden; "
                     "text-overflow: ellipsis; white-space: nowrap;}")
        rules.append(f"{table} table {{font-size: 12px;}}")
        rules.append(f"{table} th .cell-wrap, {table} th .header-content, {table} th span "
                     "{white-space: normal !important; overflow-wrap: anywhere;}")
        rules.append(f"{table} td .cell-wrap {{padding-left: 6px; padding-right: 4px;}}")
    return "\n  ".join(rules)


CSS = f"""
.codebench-landing {{gap: 24px}}
/* Phones: the five tabs stay on the bar (Gradio moves tabs that do not fit into a
   "More tabs" menu), and the board keeps rank, model and score in view. */
@media (max-width: 520px) {{
  .tab-container button {{padding: 0 7px !important; font-size: 13px !important;}}
  {_phone_table_css()}
}}
"""

# Three Gradio markups axe-core counts as "serious", patched as they appear until Gradio
# fixes them: empty-state boxes carry an aria-label on a plain <div> (given a role); the
# Dataframe's filter box is labelled by its title only (given the label); a table or
# text block that scrolls without anything focusable inside cannot be scrolled from the
# keyboard (made focusable; in a table, its first header cell). Batched to one pass per
# frame: the report streams.
HEAD = """
<script>
(() => {
  const scrolls = (el) => el.scrollWidth > el.clientWidth + 1 ||
                          el.scrollHeight > el.clientHeight + 1;
  const fix = () => {
    document.querySelectorAll('div.empty[aria-label]:not([role])').forEach(
      (el) => el.setAttribute('role', 'note'));
    document.querySelectorAll('input.search-input[title]:not([aria-label])').forEach(
      (el) => el.setAttribute('aria-label', el.getAttribute('title')));
    document.querySelectorAll(
      'div.block, div.upload-container, div.virtual-table-viewport').forEach((el) => {
        if (!scrolls(el)) return;
        // Inside a grid only cells may take focus: the first header cell does.
        const grid = el.closest('[role=grid]');
        const target = grid ? grid.querySelector('[role=columnheader]') : el;
        if (target && target.getAttribute('tabindex') !== '0')
          target.setAttribute('tabindex', '0');
      });
  };
  let queued = false;
  new MutationObserver(() => {
    if (!queued) { queued = true; requestAnimationFrame(() => { queued = false; fix(); }); }
  }).observe(document.documentElement, {childList: true, subtree: true, attributes: true,
                                          attributeFilter: ['style', 'class']});
  window.addEventListener('resize', fix);
})();
</script>
"""


def theme() -> Any:
    import gradio as gr

    return gr.themes.Default().set(
        body_text_color_subdued="*neutral_600",
        color_accent="*primary_700",
        input_placeholder_color="*neutral_500",
        button_primary_background_fill="*primary_700",
        button_primary_background_fill_hover="*primary_800",
        button_primary_text_color="white",
    )
