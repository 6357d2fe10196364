/** The RIFF/WAVE header of a PCM file: what the prompts' durations and the recordings' seals read. Pure. */

export interface WavHeader {
  /** Bytes per second (fmt chunk). */
  byteRate: number;
  /** Where the samples start. */
  dataOffset: number;
  /** Sizes the header declares: the data chunk's, and the RIFF chunk's (file size − 8 once closed). */
  dataSize: number;
  riffSize: number;
}

/** Reads the header from the first bytes of a file (the whole file or its head); null when not a WAV with data. */
export function wavHeader(buf: Buffer): WavHeader | null {
  if (buf.length < 12 || buf.toString('ascii', 0, 4) !== 'RIFF' || buf.toString('ascii', 8, 12) !== 'WAVE') return null;
  const riffSize = buf.readUInt32LE(4);
  let byteRate = 0;
  let off = 12;
  while (off + 8 <= buf.length) {
    const id = buf.toString('ascii', off, off + 4);
    const size = buf.readUInt32LE(off + 4);
    if (id === 'fmt ' && off + 20 <= buf.length) byteRate = buf.readUInt32LE(off + 16);
    if (id === 'data') return { byteRate, dataOffset: off + 8, dataSize: size, riffSize };
    off += 8 + size + (size % 2);
  }
  return null;
}

/** Length of a PCM WAV in seconds, from its fmt and data chunks (the data actually present). */
export function wavSeconds(buf: Buffer): number {
  const h = wavHeader(buf);
  if (!h || h.byteRate === 0) throw new Error('not a PCM WAV file');
  return Math.min(h.dataSize, buf.length - h.dataOffset) / h.byteRate;
}
