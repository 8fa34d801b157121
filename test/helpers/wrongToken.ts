/**
 * The UI server's token with its last character changed: to another character, always. (A token is
 * random base64url, so it ends in any given character one time in 64; replacing that character by a
 * fixed one would, that often, send the right token as the "wrong" one.)
 */
export function wrongToken(token: string): string {
  return `${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;
}
