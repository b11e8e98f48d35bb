/*
 * Messages on the local link, cut to the link's MTU and put back together.
 *
 * A message is u8 type || body, at most maxMessage bytes. On the link it
 * travels as fragments of at most `mtu - 3` bytes (the ATT payload of one
 * write or notification): u8 header || piece, header 0x01 on the last
 * fragment of a message and 0x00 on the others. Any other header, an empty
 * piece, or a message that grows past maxMessage is a framing error: the
 * session ends (docs/protocol/onboarding.md).
 */
export const maxMessage = 1024;
/** The ATT header of a write or a notification: opcode and handle. */
export const attHeader = 3;
/** BLE's smallest ATT MTU: 23 bytes, so 20 per write. */
export const minimumMtu = 23;

export class FrameError extends Error {
	override readonly name = "FrameError";
}

/** The fragments of one message for a link whose ATT MTU is `mtu`. */
export function fragment(message: Uint8Array, mtu: number): Uint8Array[] {
	if (!message.length || (message.length > maxMessage))
		throw new FrameError(`frames: a message is 1 to ${maxMessage} bytes`);
	const room = Math.max(mtu, minimumMtu) - attHeader - 1;
	const pieces: Uint8Array[] = [];
	for (let at = 0; at < message.length; at += room) {
		const piece = message.subarray(at, at + room);
		const out = new Uint8Array(1 + piece.length);
		out[0] = (at + room >= message.length) ? 1 : 0;
		out.set(piece, 1);
		pieces.push(out);
	}
	return pieces;
}

/** Puts fragments back together; take() returns a whole message, or undefined while one is incomplete. */
export class Reassembler {
	#parts: Uint8Array[] = [];
	#length = 0;

	take(fragmentBytes: Uint8Array): Uint8Array | undefined {
		if ((fragmentBytes.length < 2) || (fragmentBytes[0] > 1))
			throw new FrameError("frames: a fragment is a header byte (0 or 1) and at least one byte");
		this.#length += fragmentBytes.length - 1;
		if (this.#length > maxMessage)
			throw new FrameError(`frames: a message longer than ${maxMessage} bytes`);
		this.#parts.push(fragmentBytes.slice(1));
		if (fragmentBytes[0] === 0)
			return undefined;
		const message = new Uint8Array(this.#length);
		let at = 0;
		for (const part of this.#parts) {
			message.set(part, at);
			at += part.length;
		}
		this.#parts = [];
		this.#length = 0;
		return message;
	}
}
