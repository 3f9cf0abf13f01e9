// Node's Buffer has undocumented but long-stable per-encoding methods that skip the argument
// checks of toString/write; the codec calls them on its hot paths with offsets it has checked.
export interface FastBuffer extends Buffer {
  latin1Slice(start: number, end: number): string;
  utf8Slice(start: number, end: number): string;
  latin1Write(s: string, offset: number, length: number): number;
  utf8Write(s: string, offset: number, length: number): number;
}
