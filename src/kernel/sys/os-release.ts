/**
 * /etc/os-release (os-release(5)): shell-style KEY=value lines, values optionally quoted. dockerd
 * reports PRETTY_NAME as OperatingSystem and VERSION_ID as OSVersion.
 */
export function parseOsRelease(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (!m) continue;
    let value = m[2];
    const q = value[0];
    if ((q === '"' || q === "'") && value.endsWith(q) && value.length >= 2) value = value.slice(1, -1);
    if (q === '"') value = value.replace(/\\(["\\$`])/g, '$1');
    out.set(m[1], value);
  }
  return out;
}
