/** `Authorization: Basic …` with the credentials UTF-8 encoded (btoa alone takes Latin-1 only). */
export function basicAuthorization(username: string, password: string): string {
  let binary = ''
  for (const byte of new TextEncoder().encode(`${username}:${password}`)) binary += String.fromCharCode(byte)
  return `Basic ${btoa(binary)}`
}
