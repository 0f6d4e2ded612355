/** A small element builder: h('td', { class: 'num' }, 'text', child). */
type Attrs = Record<string, string | number | boolean | undefined | ((e: Event) => void)>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: (Node | string | undefined)[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.replace(/^on/, ''), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) if (c !== undefined) el.append(c);
  return el;
}

/** Sets text only when it changed: a live page at 300 containers writes only what moved. */
export function setText(el: Element, text: string): void {
  if (el.textContent !== text) el.textContent = text;
}
