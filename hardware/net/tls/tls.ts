/*
 * `embedded:io/socket/tcp/tls` on every platform: the device, Moddable's lin
 * simulator and the Doorward simulator host. The TLS engine is tls.c (Mbed
 * TLS, verification always on, the CA pinned); this class runs it over the
 * platform's ECMA-419 TCP socket and gives the firmware the same callbacks
 * and methods as a TCP socket: onWritable(bytes) once the handshake is done
 * and whenever the plaintext window has drained again, onReadable(bytes)
 * with the plaintext held, onError(reason) once, with a one-line reason.
 *
 * Options are those of Moddable's TLS socket (examples/io/tcp/tlssocket,
 * whose `secure` names modules/crypt/ssl reads), so src/ passes one shape:
 *
 *   address, port       where to connect (an IP address on the device, whose
 *                       TCP socket does not resolve names)
 *   host                the default for secure.serverName
 *   TCP: { io }         the ECMA-419 TCP class to run over; defaults to
 *                       embedded:io/socket/tcp
 *   secure.certificate  ArrayBuffer     the CA to trust, PEM or DER (a PEM may hold
 *                                       several): the ONLY trust anchor
 *   secure.clientCertificates  ArrayBuffer[]  the client's chain, leaf first, PEM or DER
 *   secure.clientKey    ArrayBuffer     its private key, PEM or DER, PKCS#8 or the
 *                                       traditional formats, unencrypted
 *   secure.serverName   string          SNI and the name the server certificate must
 *                                       carry; defaults to `host`
 *
 * Refused, on purpose: `verify: false` (verification cannot be turned off),
 * a missing name to verify, the other options of Moddable's session
 * (applicationLayerProtocolNegotiation, cache, trace, protocolVersion), which
 * this socket does not implement, and other stacks' names (ca, key, cert),
 * with the right name.
 *
 * Versions: TLS 1.2, or 1.3 where the Mbed TLS build has it (ESP-IDF's has it
 * only with CONFIG_MBEDTLS_SSL_PROTO_TLS1_3), never below 1.2.
 */
import TCP from "embedded:io/socket/tcp";
import Timer from "timer";

type Bytes = ArrayBuffer | ArrayBufferView;
type Handle = object;

function createNative(this: unknown, serverName: string, certificate: Bytes, clientCertificates: readonly Bytes[] | undefined, clientKey: Bytes | undefined): Handle {
	return native("xs_tls_create").call(this, serverName, certificate, clientCertificates, clientKey);
}
function roomNative(this: unknown, handle: Handle): number {
	return native("xs_tls_room").call(this, handle);
}
function receiveNative(this: unknown, handle: Handle, ciphertext: ArrayBuffer): void {
	return native("xs_tls_receive").call(this, handle, ciphertext);
}
function stepNative(this: unknown, handle: Handle, ended: string | undefined): number | string {
	return native("xs_tls_step").call(this, handle, ended);
}
function takeNative(this: unknown, handle: Handle, most: number): ArrayBuffer | undefined {
	return native("xs_tls_take").call(this, handle, most);
}
function readableNative(this: unknown, handle: Handle): number {
	return native("xs_tls_readable").call(this, handle);
}
function drainedNative(this: unknown, handle: Handle): boolean {
	return native("xs_tls_drained").call(this, handle);
}
function readNative(this: unknown, handle: Handle, byteLength: number): ArrayBuffer {
	return native("xs_tls_read").call(this, handle, byteLength);
}
function writeNative(this: unknown, handle: Handle, plaintext: Bytes): number {
	return native("xs_tls_write").call(this, handle, plaintext);
}
function closeNative(this: unknown, handle: Handle, notify: boolean): void {
	return native("xs_tls_close").call(this, handle, notify);
}

/** The plaintext window tls.c keeps for writes. */
const windowBytes = 16384;
const stepOpen = 1;

/** The ECMA-419 TCP socket as this class uses it (Moddable's on the device and lin, net/sim/tcp.ts in the host). */
interface TcpSocket {
	read(byteLength: number): ArrayBuffer | undefined;
	write(buffer: ArrayBuffer): number | void;
	close(): void;
}
type TcpClass = new (options: Record<string, unknown>) => TcpSocket;

interface Callbacks {
	onReadable?: (this: unknown, bytes: number) => void;
	onWritable?: (this: unknown, bytes: number) => void;
	onError?: (this: unknown, message?: string) => void;
	target?: unknown;
}

interface Secure {
	serverName: string;
	certificate: Bytes;
	clientCertificates?: Bytes[];
	clientKey?: Bytes;
}

const secureNames = Object.freeze(["certificate", "clientCertificates", "clientKey", "serverName", "verify"]);
const otherNames: Readonly<Record<string, string>> = Object.freeze({ ca: "certificate", cert: "clientCertificates", key: "clientKey", servername: "serverName" });

function isBytes(value: unknown): value is Bytes {
	return (value instanceof ArrayBuffer) || (ArrayBuffer.isView(value) && !(value instanceof DataView));
}

function asBytes(value: unknown): unknown {
	return (value instanceof DataView) ? new Uint8Array(value.buffer, value.byteOffset, value.byteLength) : value;
}

function nonEmptyBytes(value: unknown, what: string): Bytes {
	value = asBytes(value);
	if (!isBytes(value) || !value.byteLength)
		throw new TypeError(`tls: ${what} must be a non-empty ArrayBuffer`);
	return value;
}

function checkSecure(secure: unknown, host: string | undefined): Secure {
	if ((typeof secure !== "object") || (secure === null))
		throw new TypeError("tls: options.secure is required (certificate: the CA to trust)");
	const options = secure as Record<string, unknown>;
	for (const name of Object.keys(options)) {
		if (name in otherNames)
			throw new TypeError(`tls: secure.${name}: use ${otherNames[name]} (the name Moddable's TLS socket uses)`);
		if (!secureNames.includes(name))
			throw new RangeError(`tls: secure.${name} is not supported`);
	}
	if ((options.verify !== undefined) && (options.verify !== true))
		throw new RangeError("tls: certificate verification cannot be turned off");
	const certificate = nonEmptyBytes(options.certificate, "secure.certificate (the CA to trust)");
	let clientCertificates: Bytes[] | undefined;
	let clientKey: Bytes | undefined;
	if (options.clientCertificates !== undefined) {
		if (!Array.isArray(options.clientCertificates) || !options.clientCertificates.length || (options.clientCertificates.length > 8))
			throw new TypeError("tls: secure.clientCertificates must be an array of 1 to 8 certificates");
		clientCertificates = options.clientCertificates.map((item: unknown, i: number) => nonEmptyBytes(item, `secure.clientCertificates[${i}]`));
		clientKey = nonEmptyBytes(options.clientKey, "secure.clientKey (with clientCertificates)");
	}
	else if (options.clientKey !== undefined)
		throw new TypeError("tls: secure.clientKey needs secure.clientCertificates");
	const serverName = options.serverName ?? host;
	if ((typeof serverName !== "string") || !serverName.length || (serverName.length > 253))
		throw new TypeError("tls: secure.serverName (or host) must name the server to verify");
	return {
		serverName,
		certificate,
		...(clientCertificates ? { clientCertificates } : {}),
		...(clientKey ? { clientKey } : {}),
	};
}

export interface Options extends Callbacks {
	address?: string;
	host?: string;
	port: number;
	secure: Record<string, unknown>;
	TCP?: { io: unknown };
	format?: string;
	nodelay?: boolean;
}

class TLS {
	#engine: Handle | undefined;
	#tcp: TcpSocket | undefined;
	readonly #callbacks: Callbacks;
	/** What the TCP socket takes now, and holds for us to read. */
	#tcpWritable = 0;
	#tcpReadable = 0;
	/** Set once the TCP connection has ended: how, as far as it said. */
	#tcpEnded: string | undefined;
	#open = false;
	/** Plaintext count last given to onReadable; 0 after a read, so the rest is offered again. */
	#offered = 0;
	/** The firmware wrote: tell it when the window has drained. */
	#notifyWritable = false;
	/** TCP refused a write made inside write(): reported by #service. */
	#refused: string | undefined;
	#busy = false;
	#again = false;
	#later: Timer | undefined;

	constructor(options: Options) {
		const settings = options as Options & Record<string, unknown>;
		const address = settings.address ?? settings.host;
		const port = settings.port;
		if ((typeof address !== "string") || !address.length || (typeof port !== "number") || !Number.isInteger(port) || (port < 1) || (port > 65535))
			throw new TypeError("tls: address (or host) and port are required");
		if ((settings.format !== undefined) && (settings.format !== "buffer"))
			throw new RangeError(`tls: unsupported format ${settings.format}`);
		if ((settings.host !== undefined) && (typeof settings.host !== "string"))
			throw new TypeError("tls: host must be a string");
		let Socket = TCP as unknown as TcpClass;
		if (settings.TCP !== undefined) {
			const io = (settings.TCP as { io?: unknown } | null)?.io;
			if ((typeof settings.TCP !== "object") || (typeof io !== "function"))
				throw new TypeError("tls: TCP must be { io: TCP }, the socket class to run over");
			Socket = io as TcpClass;
		}
		const secure = checkSecure(settings.secure, settings.host);
		this.#callbacks = { onReadable: settings.onReadable, onWritable: settings.onWritable, onError: settings.onError };
		if (settings.target !== undefined)
			(this as Callbacks).target = settings.target;
		const engine = createNative(secure.serverName, secure.certificate, secure.clientCertificates, secure.clientKey);
		this.#engine = engine;
		try {
			this.#tcp = new Socket({
				address,
				port,
				nodelay: settings.nodelay ?? true,
				onWritable: (bytes: number) => {
					this.#tcpWritable = bytes;
					this.#service();
				},
				onReadable: (bytes: number) => {
					this.#tcpReadable = bytes;
					this.#service();
				},
				onError: (message?: string) => {
					this.#tcpEnded = message ?? "the TCP connection ended";
					this.#tcpReadable = 0;
					this.#service();
				},
			});
		}
		catch (error) {
			this.#engine = undefined;
			closeNative(engine, false);
			throw error;
		}
	}

	get format(): "buffer" {
		return "buffer";
	}
	set format(value: string) {
		if (value !== "buffer")
			throw new RangeError(`tls: unsupported format ${value}`);
	}

	/** Up to byteLength bytes of plaintext (all there is when omitted). */
	read(byteLength?: number): ArrayBuffer {
		const engine = this.#live();
		if ((byteLength !== undefined) && (!Number.isInteger(byteLength) || (byteLength < 0)))
			throw new RangeError(`tls: invalid read length ${byteLength}`);
		const data = readNative(engine, byteLength ?? 0x7fffffff);
		if (data.byteLength) {
			// Room again: more may be decrypted, and what is left is offered again.
			this.#offered = 0;
			this.#schedule();
		}
		return data;
	}

	write(buffer: Bytes): void {
		const engine = this.#live();
		buffer = asBytes(buffer) as Bytes;
		if (!isBytes(buffer))
			throw new TypeError("tls: write takes an ArrayBuffer or a typed array");
		if (!this.#open)
			throw new Error("tls: not connected yet");
		writeNative(engine, buffer);	// a failure waits in the engine for the next step
		this.#notifyWritable = true;
		const moved = this.#push();
		if (typeof moved === "string")
			this.#refused ??= moved;	// reported by #service, outside the firmware's call
		this.#schedule();
	}

	close(): void {
		const engine = this.#engine;
		if (!engine)
			return;
		closeNative(engine, true);
		this.#push();	// close_notify, if TCP takes it now
		this.#shut();
	}

	#live(): Handle {
		if (!this.#engine)
			throw new Error("tls: closed");
		return this.#engine;
	}

	/** Runs #service soon, outside the firmware's call (or again, when inside it). */
	#schedule(): void {
		if (this.#busy) {
			this.#again = true;
			return;
		}
		this.#later ??= Timer.set(() => {
			this.#later = undefined;
			this.#service();
		});
	}

	/** Ciphertext from TCP into the engine, as far as it has room. A reason when TCP refused. */
	#pull(engine: Handle): string | undefined {
		const tcp = this.#tcp!;
		try {
			while ((this.#tcpReadable > 0) && (this.#tcpEnded === undefined)) {
				const room = roomNative(engine);
				if (!room)
					return undefined;
				const wanted = Math.min(room, this.#tcpReadable);
				const data = tcp.read(wanted);
				const count = data?.byteLength ?? 0;
				this.#tcpReadable = (count < wanted) ? 0 : this.#tcpReadable - count;
				if (count)
					receiveNative(engine, data!);
			}
		}
		catch (error) {
			return `tls: TCP read: ${(error as Error).message}`;
		}
		return undefined;
	}

	/** Ciphertext from the engine to TCP, as far as TCP takes it: how many bytes, or a reason when TCP refused. */
	#push(): number | string {
		const engine = this.#engine;
		const tcp = this.#tcp;
		let moved = 0;
		if (!engine || !tcp || (this.#tcpEnded !== undefined))
			return moved;
		try {
			while (this.#tcpWritable > 0) {
				const data = takeNative(engine, this.#tcpWritable);
				if (!data)
					break;
				const left = tcp.write(data);
				this.#tcpWritable = (typeof left === "number") ? left : this.#tcpWritable - data.byteLength;
				moved += data.byteLength;
			}
		}
		catch (error) {
			this.#tcpWritable = 0;
			return `tls: TCP write: ${(error as Error).message}`;
		}
		return moved;
	}

	/** Moves the connection on and tells the firmware what changed. */
	#service(): void {
		if (this.#busy) {
			this.#again = true;
			return;
		}
		this.#busy = true;
		try {
			do {
				this.#again = false;
				const engine = this.#engine;
				if (!engine)
					return;
				// Until stuck: Mbed TLS takes a record in pieces (each piece
				// frees room for the next), and encrypts as TCP takes the output.
				let state: number | string;
				for (;;) {
					state = this.#pull(engine) ?? this.#refused ?? stepNative(engine, this.#tcpEnded);
					if (typeof state === "string")
						break;
					const moved = this.#push();
					if (typeof moved === "string") {
						state = moved;
						break;
					}
					const more = (this.#tcpReadable > 0) && (this.#tcpEnded === undefined) && (roomNative(engine) > 0);
					if (!more && !(moved && (this.#tcpWritable > 0) && !drainedNative(engine)))
						break;
				}
				if (typeof state === "string") {
					this.#fail(state);
					return;
				}
				if ((state === stepOpen) && !this.#open) {
					this.#open = true;
					this.#callbacks.onWritable?.call(this, windowBytes);
					this.#again = true;	// the server may have sent data right behind its Finished
					continue;
				}
				if (this.#notifyWritable && drainedNative(engine)) {
					this.#notifyWritable = false;
					this.#callbacks.onWritable?.call(this, windowBytes);
					if (!this.#engine)
						return;
				}
				const readable = readableNative(engine);
				if (readable && (readable !== this.#offered)) {
					this.#offered = readable;
					this.#callbacks.onReadable?.call(this, readable);
				}
			} while (this.#again && this.#engine);
		}
		finally {
			this.#busy = false;
		}
	}

	#fail(reason: string): void {
		if (!this.#engine)
			return;
		this.#push();	// the alert Mbed TLS sent, if TCP takes it now
		this.#shut();
		this.#callbacks.onError?.call(this, reason);
	}

	#shut(): void {
		const engine = this.#engine!;
		const tcp = this.#tcp;
		this.#engine = undefined;
		this.#tcp = undefined;
		Timer.clear(this.#later);
		this.#later = undefined;
		closeNative(engine, false);
		tcp?.close();
	}
}

Object.freeze(TLS.prototype);

export default TLS;
