/*
 * What goes on the wire for one event. The header says which event it is;
 * the body carries the clip.
 *
 * Version 0, below, is the walking skeleton's development envelope: its clip
 * is NOT encrypted and it is not signed. It exists so that the path from the
 * button to the phone can be built and tested before the sealed envelope
 * (end-to-end encrypted to each paired phone, signed by the device, specified
 * in docs/protocol/events.md) replaces it behind the same `Sealer` seam.
 *
 *   "DWE0" | u16 header length (big-endian) | header, UTF-8 JSON | clip
 */
import type { EventKind } from "store/outbox";
import { concat, utf8Decode, utf8Encode } from "util/bytes";

export interface EventHeader {
	readonly deviceId: string;
	readonly eventId: string;
	readonly seq: number;
	/** Wall-clock ms. */
	readonly time: number;
	readonly kind: EventKind;
}

/** Turns an event's header and clip into the bytes that are published, as parts in order. */
export interface Sealer {
	seal(header: EventHeader, clip: readonly Uint8Array[]): Uint8Array[];
}

export const developmentMagic = Uint8Array.of(0x44, 0x57, 0x45, 0x30); // "DWE0"

export const developmentSealer: Sealer = Object.freeze({
	seal(header: EventHeader, clip: readonly Uint8Array[]): Uint8Array[] {
		const json = utf8Encode(JSON.stringify({ v: 0, ...header }));
		if (json.length > 65535)
			throw new RangeError("envelope: header too long");
		return [concat([developmentMagic, Uint8Array.of(json.length >> 8, json.length & 255), json]), ...clip];
	},
});

export function openDevelopmentEnvelope(bytes: Uint8Array): { header: EventHeader; clip: Uint8Array } {
	if ((bytes.length < 6) || developmentMagic.some((byte, i) => bytes[i] !== byte))
		throw new RangeError("envelope: not a DWE0 development envelope");
	const length = (bytes[4] << 8) | bytes[5];
	if (6 + length > bytes.length)
		throw new RangeError("envelope: truncated header");
	const header = JSON.parse(utf8Decode(bytes.subarray(6, 6 + length)));
	if (header.v !== 0)
		throw new RangeError(`envelope: unknown version ${header.v}`);
	return { header, clip: bytes.subarray(6 + length) };
}
