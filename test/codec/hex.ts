// Annotated hex for the fixture table: pairs of hex digits, "quoted ASCII" written as its bytes,
// and `#` comments to the end of the line. Lengths and flags are written by hand from the
// specification, never computed by the encoder, so the table is an independent reading.

const TOKEN = /#[^\n]*|"([^"\n]*)"|([0-9a-fA-F]+)|(\s+)|(.)/g;

export function h(strings: TemplateStringsArray, ...values: unknown[]): Buffer {
  const text = String.raw({ raw: strings.raw }, ...values);
  const out: number[] = [];
  for (const m of text.matchAll(TOKEN)) {
    const [, quoted, digits, , other] = m;
    if (other !== undefined) throw new Error(`hex fixture: unexpected ${JSON.stringify(other)} in ${text}`);
    if (quoted !== undefined) {
      for (const ch of quoted) {
        const code = ch.charCodeAt(0);
        if (code > 0x7e || code < 0x20) throw new Error('hex fixture: quote only printable ASCII');
        out.push(code);
      }
    } else if (digits !== undefined) {
      if (digits.length % 2 !== 0) throw new Error(`hex fixture: odd digit count in ${digits}`);
      for (let i = 0; i < digits.length; i += 2) out.push(parseInt(digits.slice(i, i + 2), 16));
    }
  }
  return Buffer.from(out);
}
