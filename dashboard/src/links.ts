/** A view's link to a machine (or a line): each segment encoded, the slashes kept (`/machines/demo/line1/press1`). */
export function machineHref(prefix: string, path: string): string {
  return `${prefix}${path.split('/').map(encodeURIComponent).join('/')}`;
}
