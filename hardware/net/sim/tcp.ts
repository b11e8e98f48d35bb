/*
 * ECMA-419 `embedded:io/socket/tcp` for the simulator host (see tcp.c): the
 * same constructor options, callbacks and methods that Moddable provides on
 * the device, over a real non-blocking Linux socket.
 */
import type TCPClass from "embedded:io/socket/tcp";
import type { Options } from "embedded:io/socket/tcp";

type Handle = object;

function connectNative(this: unknown, target: object, address: string, port: number): Handle {
	return native("xs_tcp_connect").call(this, target, address, port);
}
function readNative(this: unknown, handle: Handle, byteLength: number): ArrayBuffer {
	return native("xs_tcp_read").call(this, handle, byteLength);
}
function writeNative(this: unknown, handle: Handle, buffer: ArrayBuffer | ArrayBufferView): number {
	return native("xs_tcp_write").call(this, handle, buffer);
}
function closeNative(this: unknown, handle: Handle): void {
	return native("xs_tcp_close").call(this, handle);
}

interface Callbacks {
	onReadable?: (this: unknown, bytes: number) => void;
	onWritable?: (this: unknown, bytes: number) => void;
	onError?: (this: unknown, message?: string) => void;
	target?: unknown;
}

class TCP {
	#handle: Handle | undefined;
	#remoteAddress: string;
	#remotePort: number;

	constructor(options: Options) {
		const settings = options as Options & Callbacks & { address?: string; host?: string; port?: number };
		const address = settings.address ?? settings.host;
		const port = settings.port;
		if ((typeof address !== "string") || (typeof port !== "number"))
			throw new TypeError("tcp: address and port are required");
		if ((settings.format !== undefined) && (settings.format !== "buffer"))
			throw new RangeError(`tcp: unsupported format ${settings.format}`);
		this.#remoteAddress = address;
		this.#remotePort = port;
		// The host calls these on `relay`, with the socket as `this`, as the device does.
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
		this.#handle = connectNative(relay, address, port);
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
			throw new RangeError(`tcp: unsupported format ${value}`);
	}

	read(byteLength?: number): ArrayBuffer {
		return readNative(this.#open(), byteLength ?? 0x7fffffff);
	}

	write(buffer: ArrayBuffer | ArrayBufferView): void {
		writeNative(this.#open(), buffer);
	}

	close(): void {
		if (this.#handle) {
			closeNative(this.#handle);
			this.#handle = undefined;
		}
	}

	#open(): Handle {
		if (!this.#handle)
			throw new Error("tcp: closed");
		return this.#handle;
	}
}

Object.freeze(TCP.prototype);

export default TCP as unknown as typeof TCPClass;
