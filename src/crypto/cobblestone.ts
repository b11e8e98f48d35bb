/*
 * Cobblestone-256 (c2sp.org/chunked-encryption, v1) with AES-256-GCM and
 * HKDF-SHA-512: a clip is split into 16 KiB chunks, the last always shorter
 * (possibly empty), each sealed with a key and base nonce derived, with a
 * 32-byte key commitment, from a fresh input key, a random salt and the
 * caller's context.
 *
 *   ciphertext = salt (24) || commitment (32) || chunk 0 || chunk 1 || ...
 *
 * The writer streams: it holds one chunk of plaintext at most. The reader
 * checks the commitment before it decrypts anything and returns plaintext
 * only once every chunk, and the length, is authenticated.
 */
import { gcmOpen, gcmSeal, wipe } from "hardware/crypto";
import { bytes as randomBytes } from "hardware/random";
import { expand } from "./hkdf";
import { concat, equal, utf8Encode } from "util/bytes";

export const inputKeyLength = 32;
export const chunkSize = 16384;
export const tagLength = 16;
export const saltLength = 24;
export const commitmentLength = 32;
export const headerLength = saltLength + commitmentLength;
/** We refuse messages above 2^32 chunks (64 TiB), as the spec allows. */
const maxChunks = 2 ** 32;

const label = utf8Encode("c2sp.org/chunked-encryption@v1+AEAD_AES_256_GCM\u0000");

interface Derived {
	key: Uint8Array;
	baseNonce: Uint8Array;
	commitment: Uint8Array;
}

function derive(inputKey: Uint8Array, salt: Uint8Array, context: Uint8Array): Derived {
	if (!(inputKey instanceof Uint8Array) || (inputKey.length !== inputKeyLength))
		throw new RangeError(`cobblestone: the input key must be ${inputKeyLength} bytes`);
	const okm = expand("SHA-512", inputKey, concat([label, salt, context]), 32 + 12 + commitmentLength);
	const derived = { key: okm.slice(0, 32), baseNonce: okm.slice(32, 44), commitment: okm.slice(44) };
	wipe(okm);
	return derived;
}

function nonceFor(baseNonce: Uint8Array, index: number): Uint8Array {
	if (index >= maxChunks)
		throw new RangeError("cobblestone: too many chunks");
	const nonce = baseNonce.slice();
	// The chunk number, big-endian, XOR'd into the last five bytes (38 bits).
	let value = index;
	for (let i = 11; i >= 7; i--) {
		nonce[i] ^= value % 256;
		value = Math.floor(value / 256);
	}
	return nonce;
}

/** Streaming encryption: push plaintext in any pieces, then finish. */
export class Writer {
	#derived: Derived | undefined;
	#header: Uint8Array;
	#buffer = new Uint8Array(chunkSize);
	#buffered = 0;
	#index = 0;

	/** `salt` is for test vectors only; it is random otherwise. */
	constructor(inputKey: Uint8Array, context: Uint8Array, salt: Uint8Array = randomBytes(saltLength)) {
		if (salt.length !== saltLength)
			throw new RangeError(`cobblestone: the salt must be ${saltLength} bytes`);
		this.#derived = derive(inputKey, salt, context);
		this.#header = concat([salt, this.#derived.commitment]);
	}

	/** salt || commitment: the first bytes of the ciphertext. */
	get header(): Uint8Array {
		return this.#header;
	}

	/** Returns the chunks this piece completed (each 16 KiB + tag). */
	push(piece: Uint8Array): Uint8Array[] {
		const chunks: Uint8Array[] = [];
		for (let offset = 0; offset < piece.length;) {
			const take = Math.min(chunkSize - this.#buffered, piece.length - offset);
			this.#buffer.set(piece.subarray(offset, offset + take), this.#buffered);
			this.#buffered += take;
			offset += take;
			if (this.#buffered === chunkSize)
				chunks.push(this.#seal());
		}
		return chunks;
	}

	/** The final, short chunk; the writer is spent and its keys wiped. */
	finish(): Uint8Array {
		const last = this.#seal();
		wipe(this.#buffer);
		const derived = this.#derived!;
		wipe(derived.key);
		wipe(derived.baseNonce);
		this.#derived = undefined;
		return last;
	}

	#seal(): Uint8Array {
		const derived = this.#derived;
		if (!derived)
			throw new Error("cobblestone: the writer is finished");
		const sealed = gcmSeal(derived.key, nonceFor(derived.baseNonce, this.#index), this.#buffer.subarray(0, this.#buffered));
		this.#index++;
		this.#buffered = 0;
		return sealed;
	}
}

export function encrypt(inputKey: Uint8Array, context: Uint8Array, plaintext: Uint8Array, salt?: Uint8Array): Uint8Array {
	const writer = new Writer(inputKey, context, salt);
	return concat([writer.header, ...writer.push(plaintext), writer.finish()]);
}

export class CobblestoneError extends Error {
	// A field, defined on each instance: on a preloaded XS image Error.prototype is frozen,
	// so assigning `this.name` would throw "set name: not writable" (the override mistake).
	override readonly name = "CobblestoneError";
	constructor(reason: string) {
		super(`cobblestone: ${reason}`);
	}
}

/** Decrypts a whole message. Throws CobblestoneError on anything invalid; returns nothing partial. */
export function decrypt(inputKey: Uint8Array, context: Uint8Array, ciphertext: Uint8Array): Uint8Array {
	if (ciphertext.length < headerLength + tagLength)
		throw new CobblestoneError("truncated: shorter than a header and one tag");
	const derived = derive(inputKey, ciphertext.subarray(0, saltLength), context);
	try {
		if (!equal(derived.commitment, ciphertext.subarray(saltLength, headerLength)))
			throw new CobblestoneError("wrong key or context: the key commitment does not match");
		const sealedChunk = chunkSize + tagLength;
		const body = ciphertext.length - headerLength;
		// Only one chunking is valid: full chunks, then a final one of tag..tag+16383 bytes.
		const fullChunks = Math.floor(body / sealedChunk);
		const finalLength = body - fullChunks * sealedChunk;
		if (finalLength < tagLength)
			throw new CobblestoneError("truncated: the final short chunk is missing");
		const plaintext = new Uint8Array(fullChunks * chunkSize + finalLength - tagLength);
		for (let index = 0; index <= fullChunks; index++) {
			const start = headerLength + index * sealedChunk;
			const end = (index < fullChunks) ? start + sealedChunk : ciphertext.length;
			let chunk: Uint8Array;
			try {
				chunk = gcmOpen(derived.key, nonceFor(derived.baseNonce, index), ciphertext.subarray(start, end));
			}
			catch (error) {
				wipe(plaintext);
				throw new CobblestoneError(`chunk ${index} does not authenticate (${(error as Error).message})`);
			}
			plaintext.set(chunk, index * chunkSize);
			wipe(chunk);
		}
		return plaintext;
	}
	finally {
		wipe(derived.key);
		wipe(derived.baseNonce);
	}
}
