/*
 * The world's end of the bridge to a simulated device (the framing is in
 * hardware/sim/bridge/bridge.c): u32 big-endian length of what follows,
 * u8 type, payload.
 */
import type { Duplex } from "node:stream";

export class BridgeLink {
	#stream: Duplex;
	#input = Buffer.alloc(0);

	constructor(stream: Duplex, onMessage: (type: number, payload: Buffer) => void) {
		this.#stream = stream;
		stream.on("data", (chunk: Buffer) => {
			this.#input = Buffer.concat([this.#input, chunk]);
			while (this.#input.length >= 5) {
				const length = this.#input.readUInt32BE(0);
				if (this.#input.length < 4 + length)
					break;
				const type = this.#input[4];
				const payload = this.#input.subarray(5, 4 + length);
				this.#input = this.#input.subarray(4 + length);
				onMessage(type, payload);
			}
		});
		stream.on("error", () => {}); // the device powering off closes it; its exit reports that
	}

	get open(): boolean {
		return !this.#stream.destroyed && this.#stream.writable;
	}

	send(type: number, payload: Buffer): void {
		if (!this.open)
			return;
		const header = Buffer.alloc(5);
		header.writeUInt32BE(payload.length + 1, 0);
		header[4] = type;
		this.#stream.write(Buffer.concat([header, payload]));
	}

	close(): void {
		this.#stream.end();
		this.#stream.destroy();
	}
}
