/**
 * JSON parsing that keeps integers beyond 2^53 exact (as strings), so that answers carrying
 * u64 values such as 18446744073709551615 can be compared digit for digit.
 */
export function parseExact(text: string): any {
  return JSON.parse(text.replace(/([:[,]\s*)(-?\d{16,})(?=\s*[,\]}])/g, '$1"$2"'));
}
