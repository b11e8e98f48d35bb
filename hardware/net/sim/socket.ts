/*
 * What the simulator's TCP and TLS sockets (tcp.ts, tls.ts) have in common:
 * the handle the host gives back, the callbacks it calls with the socket as
 * `this` (as the device does), and read/write/close over the host's natives.
 * Each socket validates its own options before it connects.
 */
export type Handle = object;
export type Bytes = ArrayBuffer | ArrayBufferView;

export interface Callbacks {
	onReadable?: (this: unknown, bytes: number) => void;
	onWritable?: (this: unknown, bytes: number) => void;
	onError?: (this: unknown, message?: string) => void;
	target?: unknown;
}

export interface SocketNatives {
	read(handle: Handle, byteLength: number): ArrayBuffer;
	write(handle: Handle, buffer: Bytes): number;
	close(handle: Handle): void;
}

/** Both sockets speak `buffer` only, as on the device. */
export function checkFormat(kind: string, format: unknown): void {
	if ((format !== undefined) && (format !== "buffer"))
		throw new RangeError(`${kind}: unsupported format ${format}`);
}

export class SimulatedSocket {
	readonly #kind: string;
	readonly #natives: SocketNatives;
	readonly #remoteAddress: string;
	readonly #remotePort: number;
	#handle: Handle | undefined;

	/** `connect` opens the host's socket, which calls back on the relay it is given. */
	constructor(kind: string, natives: SocketNatives, settings: Callbacks, address: string, port: number, connect: (relay: object) => Handle) {
		this.#kind = kind;
		this.#natives = natives;
		this.#remoteAddress = address;
		this.#remotePort = port;
		const socket = this as unknown as Callbacks;
		const relay = {
			onReadable: settings.onReadable ? (bytes: number) => settings.onReadable!.call(socket, bytes) : undefined,
			onWritable: settings.onWritable ? (bytes: number) => settings.onWritable!.call(socket, bytes) : undefined,
			onError: (message: string) => {
				this.#handle = undefined;
				settings.onError?.call(socket, message);
			},
		};
		if (settings.target !== undefined)
			socket.target = settings.target;
		this.#handle = connect(relay);
	}

	get remoteAddress(): string | undefined {
		return this.#remoteAddress;
	}
	get remotePort(): number | undefined {
		return this.#remotePort;
	}
	get format(): "buffer" {
		return "buffer";
	}
	set format(value: string) {
		if (value !== "buffer")
			throw new RangeError(`${this.#kind}: unsupported format ${value}`);
	}

	read(byteLength?: number): ArrayBuffer {
		return this.#natives.read(this.#open(), byteLength ?? 0x7fffffff);
	}

	write(buffer: Bytes): void {
		this.#natives.write(this.#open(), buffer);
	}

	close(): void {
		if (this.#handle) {
			this.#natives.close(this.#handle);
			this.#handle = undefined;
		}
	}

	#open(): Handle {
		if (!this.#handle)
			throw new Error(`${this.#kind}: closed`);
		return this.#handle;
	}
}

Object.freeze(SimulatedSocket.prototype);
