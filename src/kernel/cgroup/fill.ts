/** What controller readers share when they build a stats object field by field. */

/** True when a stats object got at least one field (a controller with no files gives none). */
export function hasFields(o: object): boolean {
  for (const key in o) if (Object.hasOwn(o, key)) return true;
  return false;
}
