// 5.0 Topic Alias, outbound direction (section 3.3.2.3.4): the broker gives the topics it
// sends a client numbers, up to the client's Topic Alias Maximum, and then sends the number
// alone. Aliases are assigned first come; once all are taken, further topics go in full
// (no eviction, so an alias never changes meaning under a client's feet).

export class OutboundAliases {
  private readonly byTopic = new Map<string, number>();

  constructor(private readonly maximum: number) {}

  /**
   * The alias to send for `topic`: `{ alias, known }` where known means the client already
   * has it (send an empty topic), or undefined when no alias is left. A new alias is only
   * proposed here; `remember` records it once the packet that sets it is really sent.
   */
  lookup(topic: string): { alias: number; known: boolean } | undefined {
    const alias = this.byTopic.get(topic);
    if (alias !== undefined) return { alias, known: true };
    if (this.byTopic.size >= this.maximum) return undefined;
    return { alias: this.byTopic.size + 1, known: false };
  }

  /** The packet setting `alias` for `topic` went out: later ones may use the alias alone. */
  remember(topic: string, alias: number): void {
    this.byTopic.set(topic, alias);
  }
}
