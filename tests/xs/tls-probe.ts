/*
 * Driven by tests/integration/tls.test.ts: runs inside the XS host and talks
 * MQTT to a broker through `embedded:io/socket/tcp/tls`. Its one argument
 * (host.argv[0]) is JSON: { mode, port, host?, serverName?, ca?, caDer?, cert?, key?,
 * otherKey?, payloadBytes? } with PEM text, or DER as hex.
 *
 * Reports as trace lines:
 *   tls-probe handshake                mode "handshake": the handshake completed (then it closes)
 *   tls-probe connack <return code>
 *   tls-probe echo <bytes>             a QoS 1 message to itself came back intact
 *   tls-probe closed
 *   tls-probe error <onError's message>
 *   tls-probe timeout
 * and, in mode "validate", the harness's xs-test lines.
 */
import TLS from "embedded:io/socket/tcp/tls";
import Timer from "timer";
import {
	PacketType, PacketDecoder, encodeConnect, encodeSubscribe, encodePublishHeader, encodePuback,
	decodeConnack, decodePacketId, decodePublish,
} from "mqtt/packet";
import { fromHex, utf8Encode } from "util/bytes";
import { test, throws } from "tests/harness";

interface Settings {
	mode: "mqtt" | "stream" | "close-early" | "validate" | "handshake";
	port: number;
	host?: string;
	serverName?: string;
	ca?: string;
	caDer?: string;
	cert?: string;
	key?: string;
	otherKey?: string;
	payloadBytes?: number;
	replyBytes?: number;
}

const settings = JSON.parse(host.argv[0] ?? "{}") as Settings;

function buffer(pem: string | undefined): ArrayBuffer | undefined {
	return (pem === undefined) ? undefined : utf8Encode(pem).buffer as ArrayBuffer;
}

function secure(): Record<string, unknown> {
	return {
		certificate: (settings.caDer !== undefined) ? fromHex(settings.caDer).buffer : buffer(settings.ca),
		...((settings.cert !== undefined) ? { clientCertificates: [buffer(settings.cert)], clientKey: buffer(settings.key) } : {}),
		...((settings.serverName !== undefined) ? { serverName: settings.serverName } : {}),
	};
}

function finish(line: string, code = 0): void {
	trace(`tls-probe ${line}\n`);
	host.exit(code);
}

/** Byte i of every test stream; tls.test.ts checks the same. */
function patternByte(i: number): number {
	return (i * 31 + (i >> 8)) & 255;
}

function pattern(length: number, offset = 0): Uint8Array {
	const bytes = new Uint8Array(length);
	for (let i = 0; i < length; i++)
		bytes[i] = patternByte(offset + i);
	return bytes;
}

function mqtt(): void {
	const topic = "probe/echo";
	const payload = pattern(settings.payloadBytes ?? 40000);
	const decoder = new PacketDecoder(payload.length + 1024);
	const out: Uint8Array[] = [];
	let writable = 0;
	let connected = false;
	let acknowledged = false;
	let echoed = false;
	let closing = false;
	const timeout = Timer.set(() => finish("timeout", 1), 20000);

	const pump = (): void => {
		while (out.length && writable) {
			const first = out[0];
			const part = (first.length <= writable) ? first : first.subarray(0, writable);
			socket.write(part as unknown as ArrayBuffer); // the typings say ArrayBufferLike; views work on both platforms
			writable -= part.length;
			if (part === first)
				out.shift();
			else
				out[0] = first.subarray(part.length);
		}
		if (closing && !out.length) {
			socket.close();
			Timer.clear(timeout);
			finish("closed");
		}
	};
	const send = (bytes: Uint8Array): void => {
		out.push(bytes);
		pump();
	};
	const done = (): void => {
		if (!acknowledged || !echoed)
			return;
		trace(`tls-probe echo ${payload.length}\n`);
		closing = true;
		send(Uint8Array.of(PacketType.Disconnect << 4, 0));
	};

	const socket = new TLS({
		address: "127.0.0.1",
		...((settings.host !== undefined) ? { host: settings.host } : {}),
		port: settings.port,
		secure: secure(),
		onWritable(count: number) {
			writable = count;
			if (!connected) {
				connected = true;
				send(encodeConnect({ clientId: "tls-probe", keepAliveSeconds: 30, cleanSession: true }));
				return;
			}
			pump();
		},
		onReadable(count: number) {
			const data = new Uint8Array(socket.read(count) as ArrayBuffer);
			for (const packet of decoder.push(data)) {
				switch (packet.type) {
				case PacketType.Connack: {
					const connack = decodeConnack(packet);
					trace(`tls-probe connack ${connack.returnCode}\n`);
					if (connack.returnCode)
						return finish("closed");
					send(encodeSubscribe(1, [{ filter: topic, qos: 1 }]));
					break;
				}
				case PacketType.Suback:
					send(encodePublishHeader(topic, payload.length, 1, 2));
					send(payload);
					break;
				case PacketType.Puback:
					acknowledged = decodePacketId(packet, 0, "PUBACK") === 2;
					done();
					break;
				case PacketType.Publish: {
					const message = decodePublish(packet);
					if (message.qos)
						send(encodePuback(message.packetId));
					echoed = (message.payload.length === payload.length) && message.payload.every((byte, i) => byte === payload[i]);
					if (!echoed)
						return finish(`error echo differs (${message.payload.length} bytes)`, 1);
					done();
					break;
				}
				}
			}
		},
		onError(message?: string) {
			Timer.clear(timeout);
			finish(`error ${message ?? "(no message)"}`);
		},
	} as unknown as ConstructorParameters<typeof TLS>[0]);
}

/* Raw bytes to a server that reads slowly (so the socket's buffer fills and
 * writes wait), while reading what it sends back in small pieces; the server
 * closes with close_notify once it has all. */
function stream(): void {
	const total = settings.payloadBytes ?? 0;
	let sent = 0;
	let received = 0;
	let intact = true;
	let writable = 0;
	const timeout = Timer.set(() => finish("timeout", 1), 30000);
	const table = pattern(65536 + 16384);	// the pattern repeats every 65536 bytes
	const fill = (): void => {
		while (writable && (sent < total)) {
			// Several writes per window: the later ones find the socket full now and then.
			const count = Math.min(writable, total - sent, 3000);
			const start = sent % 65536;
			socket.write(table.subarray(start, start + count) as unknown as ArrayBuffer);
			writable -= count;
			sent += count;
		}
	};
	const socket = new TLS({
		address: "127.0.0.1",
		port: settings.port,
		secure: secure(),
		onWritable(count: number) {
			writable = count;
			fill();
		},
		onReadable(count: number) {
			// Less than offered: the socket must offer the rest again.
			const data = new Uint8Array(socket.read(Math.min(count, 1000)) as ArrayBuffer);
			for (let i = 0; i < data.length; i++)
				intact &&= data[i] === patternByte(received + i);
			received += data.length;
		},
		onError(message?: string) {
			Timer.clear(timeout);
			trace(`tls-probe sent ${sent} received ${received} ${intact ? "intact" : "corrupt"}\n`);
			finish(`error ${message ?? "(no message)"}`);
		},
	} as unknown as ConstructorParameters<typeof TLS>[0]);
}

/* Only the handshake: the server need not speak MQTT. */
function handshake(): void {
	const timeout = Timer.set(() => finish("timeout", 1), 20000);
	const socket = new TLS({
		address: "127.0.0.1",
		port: settings.port,
		secure: secure(),
		onWritable() {
			Timer.clear(timeout);
			socket.close();
			finish("handshake");
		},
		onError(message?: string) {
			Timer.clear(timeout);
			finish(`error ${message ?? "(no message)"}`);
		},
	} as unknown as ConstructorParameters<typeof TLS>[0]);
}

function closeEarly(): void {
	// Closed while the TCP connect is under way, then while the handshake is.
	const options = { address: "127.0.0.1", port: settings.port, secure: secure(), onError: () => finish("error during close-early", 1) };
	const first = new TLS(options as unknown as ConstructorParameters<typeof TLS>[0]);
	first.close();
	first.close();
	const second = new TLS({ ...options, onWritable: () => {} } as unknown as ConstructorParameters<typeof TLS>[0]);
	Timer.set(() => {
		second.close();
		throws(() => second.write(new ArrayBuffer(1)), /closed/, "write after close");
		finish("closed");
	}, 30);
}

function validate(): void {
	const make = (secureOptions: unknown, extra: Record<string, unknown> = {}) => () =>
		new TLS({ address: "127.0.0.1", port: settings.port, secure: secureOptions, ...extra } as unknown as ConstructorParameters<typeof TLS>[0]);
	const ca = buffer(settings.ca)!;
	test("secure is required", () => throws(make(undefined), /secure is required/));
	test("the CA is required", () => throws(make({ serverName: "localhost" }), /secure\.certificate/));
	test("other stacks' names are refused with Moddable's", () => {
		throws(make({ ca, serverName: "localhost" }), /secure\.ca: use certificate/);
		throws(make({ certificate: ca, key: ca, serverName: "localhost" }), /secure\.key: use clientKey/);
	});
	test("verification cannot be turned off", () => throws(make({ certificate: ca, serverName: "localhost", verify: false }), /cannot be turned off/));
	test("a name to verify is required", () => throws(make({ certificate: ca }), /serverName/));
	test("unsupported options are refused", () => throws(make({ certificate: ca, serverName: "localhost", applicationLayerProtocolNegotiation: "mqtt" }), /not supported/));
	test("a client key needs a certificate, and the reverse", () => {
		throws(make({ certificate: ca, serverName: "localhost", clientKey: buffer(settings.key) }), /clientKey needs/);
		throws(make({ certificate: ca, serverName: "localhost", clientCertificates: [buffer(settings.cert)] }), /clientKey/);
	});
	test("a CA that does not parse is refused with Mbed TLS's reason", () =>
		throws(make({ certificate: utf8Encode("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n").buffer, serverName: "localhost" }), /tls: certificate \(the CA\): (PEM|X509) - /));
	test("a client key that is not the certificate's is refused", () =>
		throws(make({ certificate: ca, serverName: "localhost", clientCertificates: [buffer(settings.cert)], clientKey: buffer(settings.otherKey) }), /not the key of clientCertificates/));
	test("port and format are checked", () => {
		throws(make({ certificate: ca, serverName: "localhost" }, { port: 0 }), /port/);
		throws(make({ certificate: ca, serverName: "localhost" }, { format: "number" }), /format/);
	});
	test("the natives check their arguments too", () => {
		throws(() => native("xs_tls_create").call(undefined, "", ca, undefined, undefined), /serverName/);
		throws(() => native("xs_tls_create").call(undefined, "localhost", "not bytes", undefined, undefined), /non-empty ArrayBuffer/);
		throws(() => native("xs_tls_create").call(undefined, "localhost", ca, [], undefined), /1 to 8 certificates/);
		throws(() => native("xs_tls_read").call(undefined, {}, 1), /.+/);
		throws(() => native("xs_tls_step").call(undefined, new ArrayBuffer(8), undefined), /.+/);
		const engine = native("xs_tls_create").call(undefined, "localhost", ca, undefined, undefined);
		throws(() => native("xs_tls_receive").call(undefined, engine, new ArrayBuffer(native("xs_tls_room").call(undefined, engine) + 1)), /more than the .* of room/);
		throws(() => native("xs_tls_write").call(undefined, engine, new ArrayBuffer(1)), /not connected yet/);
		throws(() => native("xs_tls_take").call(undefined, engine, -1), /negative/);
		native("xs_tls_close").call(undefined, engine, true);
		if (native("xs_tls_step").call(undefined, engine, undefined) !== "tls: closed")
			throw new Error("a closed engine steps no further");
	});
}

switch (settings.mode) {
case "mqtt":
	mqtt();
	break;
case "stream":
	stream();
	break;
case "close-early":
	closeEarly();
	break;
case "validate":
	validate();
	break;
case "handshake":
	handshake();
	break;
default:
	finish(`error unknown mode ${String(settings.mode)}`, 2);
}
