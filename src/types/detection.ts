/** A box in source-frame pixels: [x, y, width, height]. */
export type Box = [number, number, number, number];

/** One detected object, in the coordinates of the frame the camera produced. */
export interface Detection {
  classId: number;
  label: string;
  score: number;
  box: Box;
}
