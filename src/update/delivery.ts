/*
 * Bundles over MQTT. A release server publishes a bundle to one device on
 * dw/<topic id>/up, at QoS 1, in order, in messages of
 *
 *   offset (u32) | bundle length (u32) | bytes        (big-endian; 8 KiB of bytes at most)
 *
 * The channel needs no trust: the bundle's signatures carry it all
 * (docs/protocol/update.md). A message at offset 0 starts a bundle; a
 * repeat of bytes already taken (a redelivery) is skipped; a gap, a change
 * of length or an overrun ends the bundle early, which the installer
 * refuses as truncated. Nothing is buffered: each message goes straight to
 * the installer and the flash.
 */
import { limits } from "./format";

/** Where a bundle's bytes go, in order, then its end (src/update/ota.ts installs them). */
export interface BundleSink {
	chunk(bytes: Uint8Array): void;
	end(): void;
}

/** A bundle is its header and one slot's image at most. */
const maxBundleLength = limits.headerLength + limits.imageSize;

export const updateTopic = (topicId: string) => `dw/${topicId}/up`;
export const chunkHeaderLength = 8;
export const maxChunkBytes = 8192;

export class BundleAssembler {
	#sink: BundleSink;
	#expected = 0;
	#total = 0;
	#active = false;

	constructor(sink: BundleSink) {
		this.#sink = sink;
	}

	/** Takes one message's payload; returns what it did, for the log. */
	receive(payload: Uint8Array): "started" | "took" | "done" | "repeat" | "ended early" | "ignored" {
		if (payload.length < chunkHeaderLength + 1)
			return "ignored";
		const view = new DataView(payload.buffer, payload.byteOffset, chunkHeaderLength);
		const offset = view.getUint32(0);
		const total = view.getUint32(4);
		const bytes = payload.subarray(chunkHeaderLength);
		if ((total < 1) || (total > maxBundleLength) || (bytes.length > maxChunkBytes))
			return this.#abandon();
		let started = false;
		if (offset === 0) {
			if (this.#active)
				this.#sink.end(); // the bundle before this one was never finished
			this.#active = true;
			this.#expected = 0;
			this.#total = total;
			started = true;
		}
		if (!this.#active)
			return "ignored";
		if ((total !== this.#total) || (offset > this.#expected) || (offset + bytes.length > total))
			return this.#abandon();
		if (offset + bytes.length <= this.#expected)
			return "repeat";
		this.#sink.chunk(bytes.subarray(this.#expected - offset));
		this.#expected = offset + bytes.length;
		if (this.#expected === this.#total) {
			this.#active = false;
			this.#sink.end();
			return "done";
		}
		return started ? "started" : "took";
	}

	#abandon(): "ended early" | "ignored" {
		if (!this.#active)
			return "ignored";
		this.#active = false;
		this.#sink.end();
		return "ended early";
	}
}

Object.freeze(BundleAssembler.prototype);
