/** Wall-clock milliseconds with sub-ms resolution, comparable across the page and its workers. */
export const epochNow = () => performance.timeOrigin + performance.now();
