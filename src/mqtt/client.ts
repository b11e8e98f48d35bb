/*
 * The firmware's MQTT 3.1.1 client: one connection at a time over the
 * platform's ECMA-419 TCP socket, QoS 0 and 1, keepalive, and reconnection
 * with capped exponential backoff and jitter from the hardware RNG.
 *
 * Sending is paced by the socket's writable count: packets are queued as
 * views, or as a source read on demand (an event on flash), and written as
 * space frees up, so a large payload is never held in memory whole.
 */
import TCP from "embedded:io/socket/tcp";
import TLS from "embedded:io/socket/tcp/tls";
import Timer from "timer";
import { ticks } from "hardware/clock";
import { below } from "hardware/random";
import {
	PacketType, PacketDecoder, MalformedPacket, encodeConnect, encodePublishHeader, encodePuback, encodeSubscribe, encodeUnsubscribe,
	pingreq, disconnect, decodeConnack, decodePacketId, decodePublish, decodeSuback,
} from "./packet";
import type { IncomingPublish, RawPacket } from "./packet";
import { totalLength, utf8Encode } from "util/bytes";

/** A payload read piece by piece as the socket takes it (for example from flash). */
export interface PayloadSource {
	readonly length: number;
	read(offset: number, count: number): Uint8Array;
}

type Outgoing = Uint8Array | { source: PayloadSource; offset: number };

/** The most a source is asked for at once: one flash sector. */
const sourceChunk = 4096;

export interface ClientOptions {
	address: string;
	port: number;
	clientId: string;
	keepAliveSeconds: number;
	cleanSession?: boolean;
	username?: string;
	password?: string;
	/**
	 * TLS, with verification always on: `ca` is the one CA the broker's
	 * certificate must chain to, `serverName` the name it must carry; the
	 * client certificate chain and key are DER, as Moddable's device socket
	 * takes them.
	 */
	tls?: { ca: Uint8Array; serverName: string; certificates?: readonly Uint8Array[]; key?: Uint8Array };
	/** Incoming packets larger than this close the connection (the device subscribes to small control messages only). */
	maxIncomingPacket?: number;
	backoff?: { initialMs: number; maxMs: number };
	onConnect?: (sessionPresent: boolean) => void;
	onDisconnect?: (reason: string) => void;
	onPuback?: (packetId: number) => void;
	/** Granted QoS per filter; 0x80 marks a filter the broker refused. */
	onSuback?: (packetId: number, granted: number[]) => void;
	onUnsuback?: (packetId: number) => void;
	onMessage?: (message: IncomingPublish) => void;
}

type State = "idle" | "connecting" | "awaiting-connack" | "connected" | "waiting" | "stopped";

const connackTimeoutMs = 10000;

export default class MqttClient {
	#options: ClientOptions;
	#state: State = "idle";
	#socket: TCP | undefined;
	#decoder: PacketDecoder;
	#out: Outgoing[] = [];
	#writable = 0;
	#nextPacketId = 1;
	#attempts = 0;
	#lastSent = 0;
	#lastReceived = 0;
	#timer: ReturnType<typeof Timer.set> | undefined;

	constructor(options: ClientOptions) {
		if ((typeof options.address !== "string") || !Number.isInteger(options.port) || (options.port < 1) || (options.port > 65535))
			throw new RangeError("mqtt: address and port are required");
		this.#options = options;
		this.#decoder = new PacketDecoder(options.maxIncomingPacket ?? 16384);
	}

	get connected(): boolean {
		return this.#state === "connected";
	}

	/**
	 * Whether anything queued is still waiting for the socket (it has not
	 * taken all of it yet). The live view sends a frame only when nothing is:
	 * a frame is dropped rather than queued behind the socket (live/service).
	 */
	get backlogged(): boolean {
		return this.#out.length > 0;
	}

	start(): void {
		if ((this.#state !== "idle") && (this.#state !== "stopped"))
			return;
		this.#open();
	}

	stop(): void {
		if (this.#state === "connected")
			this.#send(disconnect);
		this.#close();
		this.#state = "stopped";
	}

	/** Queues a PUBLISH; returns its packet identifier (0 for QoS 0). Only while connected. */
	publish(topic: string, payload: Uint8Array | readonly Uint8Array[] | PayloadSource, qos: 0 | 1, dup = false, packetId?: number, retain = false): number {
		if (this.#state !== "connected")
			throw new Error("mqtt: not connected");
		const id = qos ? (packetId ?? this.#allocatePacketId()) : 0;
		if ((payload instanceof Uint8Array) || Array.isArray(payload)) {
			const parts = (payload instanceof Uint8Array) ? [payload] : payload as readonly Uint8Array[];
			this.#send(encodePublishHeader(topic, totalLength(parts), qos, id, dup, retain));
			for (const part of parts)
				this.#send(part);
		}
		else {
			const source = payload as PayloadSource;
			this.#send(encodePublishHeader(topic, source.length, qos, id, dup, retain));
			if (source.length)
				this.#out.push({ source, offset: 0 });
			this.#pump();
		}
		return id;
	}

	unsubscribe(filters: readonly string[]): number {
		if (this.#state !== "connected")
			throw new Error("mqtt: not connected");
		const id = this.#allocatePacketId();
		this.#send(encodeUnsubscribe(id, filters));
		return id;
	}

	subscribe(filters: readonly { filter: string; qos: 0 | 1 }[]): number {
		if (this.#state !== "connected")
			throw new Error("mqtt: not connected");
		const id = this.#allocatePacketId();
		this.#send(encodeSubscribe(id, filters));
		return id;
	}

	#allocatePacketId(): number {
		const id = this.#nextPacketId;
		this.#nextPacketId = (id === 65535) ? 1 : id + 1;
		return id;
	}

	#open(): void {
		this.#state = "connecting";
		this.#writable = 0;
		this.#out.length = 0;
		this.#decoder = new PacketDecoder(this.#options.maxIncomingPacket ?? 16384);
		const callbacks = {
			onWritable: (bytes: number) => this.#onWritable(bytes),
			onReadable: (bytes: number) => this.#onReadable(bytes),
			onError: (message?: string) => this.#drop(message ? `socket error: ${message}` : "socket error"),
		};
		const tls = this.#options.tls;
		try {
			if (tls) {
				const copy = (bytes: Uint8Array) => bytes.slice().buffer;
				this.#socket = new TLS({
					address: this.#options.address,
					host: tls.serverName,
					port: this.#options.port,
					TCP: { io: TCP },
					secure: {
						certificate: copy(tls.ca),
						serverName: tls.serverName,
						...(tls.certificates ? { clientCertificates: tls.certificates.map(copy), clientKey: copy(tls.key!) } : {}),
					},
					...callbacks,
				} as ConstructorParameters<typeof TLS>[0]) as unknown as TCP;
			}
			else
				this.#socket = new TCP({ address: this.#options.address, port: this.#options.port, nodelay: true, ...callbacks });
		}
		catch (error) {
			this.#socket = undefined;
			this.#drop(`cannot connect: ${(error as Error).message}`);
			return;
		}
		this.#arm(connackTimeoutMs, () => this.#drop("no CONNACK in time"));
	}

	#onWritable(bytes: number): void {
		this.#writable = bytes;
		if (this.#state === "connecting") {
			this.#state = "awaiting-connack";
			this.#send(encodeConnect({
				clientId: this.#options.clientId,
				keepAliveSeconds: this.#options.keepAliveSeconds,
				cleanSession: this.#options.cleanSession ?? true,
				...((this.#options.username !== undefined) ? { username: this.#options.username } : {}),
				...((this.#options.password !== undefined) ? { password: utf8Encode(this.#options.password) } : {}),
			}));
			return;
		}
		this.#pump();
	}

	#onReadable(bytes: number): void {
		const socket = this.#socket;
		if (!socket)
			return;
		const data = socket.read(bytes) as ArrayBuffer;
		this.#lastReceived = ticks();
		let packets: RawPacket[];
		try {
			packets = this.#decoder.push(new Uint8Array(data));
		}
		catch (error) {
			this.#drop((error as Error).message);
			return;
		}
		for (const packet of packets) {
			try {
				this.#receive(packet);
			}
			catch (error) {
				this.#drop(error instanceof MalformedPacket ? error.message : `protocol error: ${(error as Error).message}`);
				return;
			}
			if (!this.#socket)
				return;
		}
	}

	#receive(packet: RawPacket): void {
		switch (packet.type) {
		case PacketType.Connack: {
			if (this.#state !== "awaiting-connack")
				throw new MalformedPacket("unexpected CONNACK");
			const connack = decodeConnack(packet);
			if (connack.returnCode !== 0) {
				this.#drop(`connection refused, return code ${connack.returnCode}`);
				return;
			}
			this.#state = "connected";
			this.#attempts = 0;
			this.#startKeepAlive();
			this.#options.onConnect?.(connack.sessionPresent);
			return;
		}
		case PacketType.Puback:
			this.#options.onPuback?.(decodePacketId(packet, 0, "PUBACK"));
			return;
		case PacketType.Suback: {
			const { packetId, granted } = decodeSuback(packet);
			this.#options.onSuback?.(packetId, granted);
			return;
		}
		case PacketType.Unsuback:
			this.#options.onUnsuback?.(decodePacketId(packet, 0, "UNSUBACK"));
			return;
		case PacketType.Pingresp:
			return;
		case PacketType.Publish: {
			const message = decodePublish(packet);
			if (message.qos === 2)
				throw new MalformedPacket("QoS 2 PUBLISH, never subscribed for");
			if (message.qos === 1)
				this.#send(encodePuback(message.packetId));
			this.#options.onMessage?.(message);
			return;
		}
		default:
			throw new MalformedPacket(`unexpected packet type ${packet.type} from the broker`);
		}
	}

	#send(bytes: Uint8Array): void {
		if (bytes.length)
			this.#out.push(bytes);
		this.#pump();
	}

	#pump(): void {
		const socket = this.#socket;
		while (socket && this.#out.length && (this.#writable > 0)) {
			const first = this.#out[0];
			if (first instanceof Uint8Array) {
				const part = (first.length <= this.#writable) ? first : first.subarray(0, this.#writable);
				socket.write(part);
				this.#writable -= part.length;
				if (part === first)
					this.#out.shift();
				else
					this.#out[0] = first.subarray(part.length);
			}
			else {
				const count = Math.min(this.#writable, sourceChunk, first.source.length - first.offset);
				const part = first.source.read(first.offset, count);
				socket.write(part);
				this.#writable -= part.length;
				first.offset += part.length;
				if (first.offset === first.source.length)
					this.#out.shift();
			}
			this.#lastSent = ticks();
		}
	}

	#startKeepAlive(): void {
		const keepAliveMs = this.#options.keepAliveSeconds * 1000;
		this.#lastSent = this.#lastReceived = ticks();
		if (!keepAliveMs) {
			this.#disarm();
			return;
		}
		const check = Math.max(250, Math.min(keepAliveMs / 4, 5000));
		this.#arm(check, () => {
			const now = ticks();
			// §3.1.2.10: the server may close after 1.5 keepalives of silence; so do we.
			if (now - this.#lastReceived > keepAliveMs * 1.5) {
				this.#drop("keepalive timeout: the broker went silent");
				return;
			}
			if (now - this.#lastSent >= keepAliveMs * 0.75)
				this.#send(pingreq);
		}, check);
	}

	#drop(reason: string): void {
		if ((this.#state === "stopped") || (this.#state === "waiting"))
			return;
		this.#close();
		this.#state = "waiting";
		this.#options.onDisconnect?.(reason);
		if (this.#state !== "waiting")
			return; // onDisconnect stopped or restarted the client
		const backoff = this.#options.backoff ?? { initialMs: 500, maxMs: 60000 };
		const ceiling = Math.min(backoff.maxMs, backoff.initialMs * (2 ** Math.min(this.#attempts, 20)));
		this.#attempts++;
		// "Equal jitter": at least half the ceiling, so a fleet does not reconnect in step.
		const half = Math.floor(ceiling / 2);
		this.#arm(half + below(half + 1), () => this.#open());
	}

	#close(): void {
		this.#disarm();
		if (this.#socket) {
			const socket = this.#socket;
			this.#socket = undefined;
			socket.close();
		}
		this.#out.length = 0;
		this.#writable = 0;
	}

	#arm(delay: number, callback: () => void, repeat = 0): void {
		this.#disarm();
		this.#timer = Timer.set(() => {
			if (!repeat)
				this.#timer = undefined;
			callback();
		}, delay, repeat);
	}

	#disarm(): void {
		if (this.#timer) {
			Timer.clear(this.#timer);
			this.#timer = undefined;
		}
	}
}

Object.freeze(MqttClient.prototype);
