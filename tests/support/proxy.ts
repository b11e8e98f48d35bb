/*
 * A TCP proxy on loopback between a device and its broker, to cut or stall
 * the network under it: `cut()` closes every connection (a link drop);
 * `stall()` keeps them open but forwards nothing (a dead path, as when a
 * router dies), until `resume()`; `retarget(port)` sends new connections
 * elsewhere (an attacker taking over the path). And startKeyExchangeProxy,
 * below.
 */
import { constants, sign } from "node:crypto";
import type { KeyObject } from "node:crypto";
import { createConnection, createServer } from "node:net";
import type { AddressInfo, Socket } from "node:net";

export interface Proxy {
	readonly port: number;
	cut(): void;
	stall(): void;
	resume(): void;
	retarget(port: number): void;
	close(): Promise<void>;
}

export async function startProxy(targetPort: number): Promise<Proxy> {
	const pairs = new Set<[Socket, Socket]>();
	let stalled = false;
	let target = targetPort;
	const server = createServer((client) => {
		const upstream = createConnection({ host: "127.0.0.1", port: target });
		const pair: [Socket, Socket] = [client, upstream];
		pairs.add(pair);
		const forward = (from: Socket, to: Socket) => from.on("data", (chunk) => {
			if (!stalled)
				to.write(chunk);
		});
		forward(client, upstream);
		forward(upstream, client);
		const close = () => {
			client.destroy();
			upstream.destroy();
			pairs.delete(pair);
		};
		client.on("close", close);
		upstream.on("close", close);
		client.on("error", close);
		upstream.on("error", close);
	});
	await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
	const cut = () => {
		for (const [client, upstream] of pairs) {
			client.destroy();
			upstream.destroy();
		}
	};
	return {
		port: (server.address() as AddressInfo).port,
		cut,
		stall() {
			stalled = true;
		},
		resume() {
			stalled = false;
		},
		retarget(port: number) {
			target = port;
		},
		async close() {
			cut();
			await new Promise((resolve) => server.close(resolve));
		},
	};
}

/*
 * A TLS 1.2 man in the middle who has the server's certificate but not its
 * key: it relays a real handshake and replaces the signature of the
 * server's ECDHE key exchange with one made by `signWith`, over exactly the
 * bytes the server signed (client random, server random, the ECDH
 * parameters), so only the key differs. With the server's own key the
 * signature comes out the same (RSA PKCS#1 v1.5 is deterministic), which is
 * the control.
 *
 * It reassembles the server's handshake messages across records, rewrites
 * the ServerKeyExchange in place (same length: `signWith` must be an RSA key
 * of the server key's size) and passes everything else through untouched.
 */
export interface KeyExchangeProxy {
	readonly port: number;
	/** ServerKeyExchange messages re-signed so far. */
	readonly rewritten: number;
	/** What went wrong in the proxy itself (it then dropped the connection). */
	readonly failure: string | undefined;
	close(): Promise<void>;
}

const hashes: Record<number, { name: string; bytes: number }> = {
	2: { name: "sha1", bytes: 20 }, 4: { name: "sha256", bytes: 32 }, 5: { name: "sha384", bytes: 48 }, 6: { name: "sha512", bytes: 64 },
};

/** The signature for TLS 1.2 SignatureAndHashAlgorithm `hash`, `signature` over `data`. */
function signTls12(hash: number, signature: number, data: Buffer, key: KeyObject): Buffer {
	if ((signature === 1) && hashes[hash])	// rsa_pkcs1_<hash>
		return sign(hashes[hash].name, data, { key, padding: constants.RSA_PKCS1_PADDING });
	if ((hash === 8) && (signature >= 4) && (signature <= 6)) {	// rsa_pss_rsae_<hash>
		const { name, bytes } = hashes[signature];
		return sign(name, data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: bytes });
	}
	throw new Error(`key exchange proxy: signature algorithm ${hash}.${signature} is not RSA`);
}

/**
 * Rewrites the ServerKeyExchange in `stream` (the server's bytes so far), or
 * says it needs more. "pass" when the flight has none (another key exchange,
 * or TLS 1.3): then the stream goes on as it is.
 */
function rewriteKeyExchange(stream: Buffer, clientRandom: Buffer, signWith: KeyObject): "more" | "pass" | Buffer {
	const pieces: { at: number; length: number }[] = [];	// handshake record payloads in `stream`
	let offset = 0;
	while (offset + 5 <= stream.length) {
		const type = stream[offset];
		const length = stream.readUInt16BE(offset + 3);
		if (offset + 5 + length > stream.length)
			break;
		if (type !== 22)
			return "pass";	// ChangeCipherSpec or an alert before any key exchange
		pieces.push({ at: offset + 5, length });
		offset += 5 + length;
	}
	const handshake = Buffer.concat(pieces.map(({ at, length }) => stream.subarray(at, at + length)));
	let serverRandom: Buffer | undefined;
	for (let at = 0; at + 4 <= handshake.length;) {
		const type = handshake[at];
		const length = handshake.readUIntBE(at + 1, 3);
		if (at + 4 + length > handshake.length)
			return "more";
		const body = handshake.subarray(at + 4, at + 4 + length);
		if (type === 2)	// ServerHello: version, then the random
			serverRandom = Buffer.from(body.subarray(2, 34));
		else if (type === 14)	// ServerHelloDone without a key exchange
			return "pass";
		else if (type === 12) {
			if (!serverRandom)
				throw new Error("key exchange proxy: ServerKeyExchange before ServerHello");
			if (body[0] !== 3)	// named_curve: ECDHE
				return "pass";
			const paramsLength = 4 + body[3];	// curve type, curve, point length, point
			const hash = body[paramsLength];
			const signature = body[paramsLength + 1];
			const signatureLength = body.readUInt16BE(paramsLength + 2);
			const signed = Buffer.concat([clientRandom, serverRandom, body.subarray(0, paramsLength)]);
			const replacement = signTls12(hash, signature, signed, signWith);
			if (replacement.length !== signatureLength)
				throw new Error(`key exchange proxy: a ${replacement.length}-byte signature cannot replace a ${signatureLength}-byte one`);
			replacement.copy(handshake, at + 4 + paramsLength + 4);
			// Back into the records, which keep their lengths.
			const out = Buffer.from(stream);
			let position = 0;
			for (const { at: start, length: count } of pieces) {
				handshake.copy(out, start, position, position + count);
				position += count;
			}
			return out;
		}
		at += 4 + length;
	}
	return "more";
}

export async function startKeyExchangeProxy(targetPort: number, signWith: KeyObject): Promise<KeyExchangeProxy> {
	const sockets = new Set<Socket>();
	let rewritten = 0;
	let failure: string | undefined;
	const server = createServer((client) => {
		const upstream = createConnection({ host: "127.0.0.1", port: targetPort });
		sockets.add(client);
		sockets.add(upstream);
		let fromClient = Buffer.alloc(0);
		let clientRandom: Buffer | undefined;
		let fromServer = Buffer.alloc(0);
		let passing = false;
		const close = () => {
			client.destroy();
			upstream.destroy();
			sockets.delete(client);
			sockets.delete(upstream);
		};
		const guarded = (handler: (chunk: Buffer) => void) => (chunk: Buffer) => {
			try {
				handler(chunk);
			}
			catch (error) {
				failure ??= (error as Error).message;
				close();
			}
		};
		client.on("data", guarded((chunk: Buffer) => {
			if (!clientRandom) {
				fromClient = Buffer.concat([fromClient, chunk]);
				// The ClientHello opens the first record: header 5, message header 4, version 2, random 32.
				if (fromClient.length >= 43) {
					if ((fromClient[0] !== 22) || (fromClient[5] !== 1))
						throw new Error("key exchange proxy: the client did not start with a ClientHello");
					clientRandom = Buffer.from(fromClient.subarray(11, 43));
				}
			}
			upstream.write(chunk);
		}));
		upstream.on("data", guarded((chunk: Buffer) => {
			if (passing) {
				client.write(chunk);
				return;
			}
			fromServer = Buffer.concat([fromServer, chunk]);
			const result = rewriteKeyExchange(fromServer, clientRandom!, signWith);
			if (result === "more")
				return;
			passing = true;
			if (result === "pass")
				client.write(fromServer);
			else {
				rewritten++;
				client.write(result);
			}
		}));
		client.on("close", close);
		upstream.on("close", close);
		client.on("error", close);
		upstream.on("error", close);
	});
	await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
	return {
		port: (server.address() as AddressInfo).port,
		get rewritten() {
			return rewritten;
		},
		get failure() {
			return failure;
		},
		async close() {
			for (const socket of sockets)
				socket.destroy();
			await new Promise((resolve) => server.close(resolve));
		},
	};
}
