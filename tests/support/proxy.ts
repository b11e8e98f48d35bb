/*
 * A TCP proxy on loopback between a device and its broker, to cut or stall
 * the network under it: `cut()` closes every connection (a link drop);
 * `stall()` keeps them open but forwards nothing (a dead path, as when a
 * router dies), until `resume()`; `retarget(port)` sends new connections
 * elsewhere (an attacker taking over the path). And startImpostor, below.
 */
import { constants, createCipheriv, createDecipheriv, createECDH, createHash, createHmac, randomBytes, sign } from "node:crypto";
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
 * An impostor broker: a minimal TLS 1.2 server written here over Node's
 * crypto (one suite, TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 on P-256), so
 * that it can present one certificate chain and sign its key exchange with
 * any key, which OpenSSL and Node refuse to be set up for. Signing with the
 * certificate's own key it is an ordinary server, and a client completes the
 * handshake with it (the control); signing with another key it is an
 * attacker who has the broker's certificate, not its key, and runs a
 * complete, self-consistent handshake: only that signature gives it away.
 *
 * It does the handshake and nothing else: it checks the client's Finished,
 * sends its own, and ends the connection on any alert.
 */
export interface Impostor {
	readonly port: number;
	/** Handshakes completed (the client's Finished checked, the server's sent). */
	readonly handshakes: number;
	/** What went wrong in the impostor itself (it then dropped the connection). */
	readonly failure: string | undefined;
	close(): Promise<void>;
}

const suite = 0xc02f;	// TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256

function u16(value: number): Buffer {
	const bytes = Buffer.alloc(2);
	bytes.writeUInt16BE(value);
	return bytes;
}

function u24(value: number): Buffer {
	return Buffer.from([value >> 16, (value >> 8) & 255, value & 255]);
}

/** RFC 5246 §5: the PRF with P_SHA256. */
function prf(secret: Buffer, label: string, seed: Buffer, length: number): Buffer {
	const labelled = Buffer.concat([Buffer.from(label, "latin1"), seed]);
	const out: Buffer[] = [];
	let a = labelled;
	let have = 0;
	while (have < length) {
		a = createHmac("sha256", secret).update(a).digest();
		const block = createHmac("sha256", secret).update(Buffer.concat([a, labelled])).digest();
		out.push(block);
		have += block.length;
	}
	return Buffer.concat(out).subarray(0, length);
}

function sequence(value: bigint): Buffer {
	const bytes = Buffer.alloc(8);
	bytes.writeBigUInt64BE(value);
	return bytes;
}

/** One connection's handshake, as the server. */
function impersonate(socket: Socket, chain: readonly Buffer[], signWith: KeyObject, completed: () => void, failed: (reason: string) => void): void {
	const serverRandom = randomBytes(32);
	const ecdh = createECDH("prime256v1");
	const point = ecdh.generateKeys();
	const transcript: Buffer[] = [];
	let input = Buffer.alloc(0);
	let handshake = Buffer.alloc(0);
	let clientRandom: Buffer | undefined;
	let master: Buffer | undefined;
	let keys: { client: Buffer; server: Buffer; clientIv: Buffer; serverIv: Buffer } | undefined;
	let clientEncrypts = false;
	let clientSequence = 0n;
	let serverSequence = 0n;

	const record = (type: number, payload: Buffer) => Buffer.concat([Buffer.from([type, 3, 3]), u16(payload.length), payload]);
	const message = (type: number, body: Buffer) => {
		const bytes = Buffer.concat([Buffer.from([type]), u24(body.length), body]);
		transcript.push(bytes);
		return bytes;
	};
	const sealed = (type: number, plaintext: Buffer) => {
		const explicit = sequence(serverSequence);
		const cipher = createCipheriv("aes-128-gcm", keys!.server, Buffer.concat([keys!.serverIv, explicit]));
		cipher.setAAD(Buffer.concat([sequence(serverSequence), Buffer.from([type, 3, 3]), u16(plaintext.length)]));
		const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
		serverSequence++;
		return record(type, Buffer.concat([explicit, body, cipher.getAuthTag()]));
	};
	const opened = (type: number, payload: Buffer) => {
		const explicit = payload.subarray(0, 8);
		const decipher = createDecipheriv("aes-128-gcm", keys!.client, Buffer.concat([keys!.clientIv, explicit]));
		const body = payload.subarray(8, payload.length - 16);
		decipher.setAAD(Buffer.concat([sequence(clientSequence), Buffer.from([type, 3, 3]), u16(body.length)]));
		decipher.setAuthTag(payload.subarray(payload.length - 16));
		clientSequence++;
		return Buffer.concat([decipher.update(body), decipher.final()]);
	};

	const onHandshake = (type: number, body: Buffer, raw: Buffer) => {
		switch (type) {
		case 1: {	// ClientHello: version, random, session id, cipher suites, ...
			clientRandom = Buffer.from(body.subarray(2, 34));
			const sessionLength = body[34];
			const suitesAt = 35 + sessionLength;
			const suites = body.subarray(suitesAt + 2, suitesAt + 2 + body.readUInt16BE(suitesAt));
			let offered = false;
			for (let i = 0; i + 1 < suites.length; i += 2)
				offered ||= suites.readUInt16BE(i) === suite;
			if (!offered)
				throw new Error("impostor: the client does not offer ECDHE_RSA_WITH_AES_128_GCM_SHA256");
			transcript.push(raw);
			const extensions = Buffer.concat([
				Buffer.from([0xff, 0x01, 0, 1, 0]),	// renegotiation_info, empty: secure renegotiation
				Buffer.from([0, 0x0b, 0, 2, 1, 0]),	// ec_point_formats: uncompressed
			]);
			const hello = message(2, Buffer.concat([Buffer.from([3, 3]), serverRandom, Buffer.from([0]), u16(suite), Buffer.from([0]), u16(extensions.length), extensions]));
			const certificates = Buffer.concat(chain.map((der) => Buffer.concat([u24(der.length), der])));
			const certificate = message(11, Buffer.concat([u24(certificates.length), certificates]));
			const params = Buffer.concat([Buffer.from([3]), u16(23), Buffer.from([point.length]), point]);	// named_curve secp256r1
			const signature = sign("sha256", Buffer.concat([clientRandom, serverRandom, params]), { key: signWith, padding: constants.RSA_PKCS1_PADDING });
			const keyExchange = message(12, Buffer.concat([params, Buffer.from([4, 1]), u16(signature.length), signature]));	// rsa_pkcs1_sha256
			const done = message(14, Buffer.alloc(0));
			socket.write(record(22, Buffer.concat([hello, certificate, keyExchange, done])));
			return;
		}
		case 16: {	// ClientKeyExchange: the client's ECDH point
			transcript.push(raw);
			const premaster = ecdh.computeSecret(body.subarray(1, 1 + body[0]));
			master = prf(premaster, "master secret", Buffer.concat([clientRandom!, serverRandom]), 48);
			const block = prf(master, "key expansion", Buffer.concat([serverRandom, clientRandom!]), 40);
			keys = { client: block.subarray(0, 16), server: block.subarray(16, 32), clientIv: block.subarray(32, 36), serverIv: block.subarray(36, 40) };
			return;
		}
		case 20: {	// the client's Finished, over everything before it
			if (!clientEncrypts || !master)
				throw new Error("impostor: Finished out of order");
			const expected = prf(master, "client finished", createHash("sha256").update(Buffer.concat(transcript)).digest(), 12);
			if (!expected.equals(body))
				throw new Error("impostor: the client's Finished does not match");
			transcript.push(raw);
			const finished = Buffer.concat([Buffer.from([20]), u24(12), prf(master, "server finished", createHash("sha256").update(Buffer.concat(transcript)).digest(), 12)]);
			socket.write(Buffer.concat([record(20, Buffer.from([1])), sealed(22, finished)]));
			completed();
			return;
		}
		default:
			throw new Error(`impostor: unexpected handshake message ${type}`);
		}
	};

	const receive = (chunk: Buffer) => {
		input = Buffer.concat([input, chunk]);
		while (input.length >= 5) {
			const length = input.readUInt16BE(3);
			if (input.length < 5 + length)
				return;
			const type = input[0];
			let payload = Buffer.from(input.subarray(5, 5 + length));
			input = input.subarray(5 + length);
			if (clientEncrypts)
				payload = opened(type, payload);
			if (type === 20)	// ChangeCipherSpec
				clientEncrypts = true;
			else if (type === 21) {	// an alert: the client refused, or closes
				socket.end();
				return;
			}
			else if (type === 22) {
				handshake = Buffer.concat([handshake, payload]);
				while ((handshake.length >= 4) && (handshake.length >= 4 + handshake.readUIntBE(1, 3))) {
					const bodyLength = handshake.readUIntBE(1, 3);
					const raw = Buffer.from(handshake.subarray(0, 4 + bodyLength));
					handshake = handshake.subarray(4 + bodyLength);
					onHandshake(raw[0], raw.subarray(4), raw);
				}
			}
		}
	};
	socket.on("data", (chunk: Buffer) => {
		try {
			receive(chunk);
		}
		catch (error) {
			failed((error as Error).message);
			socket.destroy();
		}
	});
}

/** `chain`: the certificates to present, DER, leaf first; `signWith`: the key that signs the key exchange. */
export async function startImpostor(chain: readonly Buffer[], signWith: KeyObject): Promise<Impostor> {
	const sockets = new Set<Socket>();
	let handshakes = 0;
	let failure: string | undefined;
	const server = createServer((socket) => {
		sockets.add(socket);
		socket.on("close", () => sockets.delete(socket));
		socket.on("error", () => socket.destroy());
		impersonate(socket, chain, signWith, () => handshakes++, (reason) => { failure ??= reason; });
	});
	await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
	return {
		port: (server.address() as AddressInfo).port,
		get handshakes() {
			return handshakes;
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
