/*
 * ECMA-419 `embedded:io/socket/tcp` for the simulator host (see tcp.c): the
 * same constructor options, callbacks and methods that Moddable provides on
 * the device, over a real non-blocking Linux socket.
 */
import type TCPClass from "embedded:io/socket/tcp";
import type { Options } from "embedded:io/socket/tcp";
import { checkFormat, SimulatedSocket } from "sim/net/socket";
import type { Bytes, Callbacks, Handle } from "sim/net/socket";

function connectNative(this: unknown, target: object, address: string, port: number): Handle {
	return native("xs_tcp_connect").call(this, target, address, port);
}

function readNative(this: unknown, handle: Handle, byteLength: number): ArrayBuffer {
	return native("xs_tcp_read").call(this, handle, byteLength);
}
function writeNative(this: unknown, handle: Handle, buffer: Bytes): number {
	return native("xs_tcp_write").call(this, handle, buffer);
}
function closeNative(this: unknown, handle: Handle): void {
	return native("xs_tcp_close").call(this, handle);
}

const natives = Object.freeze({ read: readNative, write: writeNative, close: closeNative });

class TCP extends SimulatedSocket {
	constructor(options: Options) {
		const settings = options as Options & Callbacks & { address?: string; host?: string; port?: number };
		const address = settings.address ?? settings.host;
		const port = settings.port;
		if ((typeof address !== "string") || (typeof port !== "number"))
			throw new TypeError("tcp: address and port are required");
		checkFormat("tcp", settings.format);
		super("tcp", natives, settings, address, port, (relay) => connectNative(relay, address, port));
	}
}

Object.freeze(TCP.prototype);

export default TCP as unknown as typeof TCPClass;
