/** A mount or path without slashes around it (`/secret/` → `secret`). */
export function trimSlashes(path: string): string {
  return path.replace(/^\/+|\/+$/g, '');
}

/** Each segment URL-encoded, empty segments dropped: `billing/prod db//x` → `billing/prod%20db/x`. */
export function encodePath(path: string): string {
  return path
    .split('/')
    .filter((segment) => segment.length > 0)
    .map(encodeURIComponent)
    .join('/');
}
