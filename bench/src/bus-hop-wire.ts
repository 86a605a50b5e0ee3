/** The bare-socket baseline's frame: the send time (float64 µs) and 640 bytes, a chunk's PCM. */
export const RAW_FRAME_BYTES = 8 + 640;
