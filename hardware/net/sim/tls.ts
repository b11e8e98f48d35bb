/*
 * `embedded:io/socket/tcp/tls` for the simulator host (see tls.c): the
 * constructor options, callbacks and methods of tcp.ts, plus `secure`, over
 * Mbed TLS with verification always on.
 *
 * `secure` uses the names of Moddable's TLS socket on the device
 * (examples/io/tcp/tlssocket over modules/crypt/ssl, whose CertificateManager
 * reads them), so src/ passes one shape on both:
 *
 *   certificate         ArrayBuffer     the CA to trust (required here). Moddable: a DER
 *                                       certificate registered as trusted, beside the
 *                                       CA resources built into the firmware. Here: PEM or
 *                                       DER (a PEM may hold several), and the ONLY anchor.
 *   clientCertificates  ArrayBuffer[]   the client's chain, leaf first. Moddable: DER.
 *                                       Here: PEM or DER.
 *   clientKey           ArrayBuffer     the client certificate's private key. Moddable:
 *                                       unencrypted PKCS#8 DER. Here: PEM or DER, PKCS#8
 *                                       or the traditional formats, unencrypted.
 *   serverName          string          SNI and the name the server certificate must
 *                                       carry; defaults to `host` (as on the device).
 *
 * Differences from the device, on purpose:
 * - `verify: false` (Moddable's switch) is refused: verification cannot be turned off.
 * - A name to verify is required: `serverName`, or `host` (the device fails
 *   the handshake without one; here the constructor throws).
 * - Other options of Moddable's session (applicationLayerProtocolNegotiation,
 *   cache, trace, protocolVersion) are refused rather than ignored, so the
 *   simulator never passes code that relies on one it does not implement. The
 *   names of other TLS stacks (ca, key, cert) are refused with the right name.
 * - Moddable's socket needs `TCP: { io: TCP }` (the socket it runs over);
 *   it is accepted and ignored here, so pass it everywhere.
 * - Versions: the device's TLS is 1.2 only; here 1.2, or 1.3 when the Mbed TLS
 *   the host links has it (3.x), never below 1.2.
 * - Key types: the device signs with RSA client keys only (its PKCS#8 parser
 *   reads RSA keys) and is at home with RSA server certificates (ECDHE_RSA,
 *   DHE_RSA, RSA suites); Mbed TLS here takes ECDSA too. Use RSA to stay portable.
 * - onWritable: the device reports the TCP window less 96 bytes of TLS
 *   overhead; here a 16 KiB plaintext window (tcp.ts's), write() returns nothing.
 */
import type TLSClass from "embedded:io/socket/tcp/tls";
import type { Options } from "embedded:io/socket/tcp/tls";
import { checkFormat, SimulatedSocket } from "sim/net/socket";
import type { Bytes, Callbacks, Handle } from "sim/net/socket";

function connectNative(this: unknown, target: object, address: string, port: number, serverName: string,
	certificate: Bytes, clientCertificates: readonly Bytes[] | undefined, clientKey: Bytes | undefined): Handle {
	return native("xs_tls_connect").call(this, target, address, port, serverName, certificate, clientCertificates, clientKey);
}
function readNative(this: unknown, handle: Handle, byteLength: number): ArrayBuffer {
	return native("xs_tls_read").call(this, handle, byteLength);
}
function writeNative(this: unknown, handle: Handle, buffer: Bytes): number {
	return native("xs_tls_write").call(this, handle, buffer);
}
function closeNative(this: unknown, handle: Handle): void {
	return native("xs_tls_close").call(this, handle);
}

const natives = Object.freeze({ read: readNative, write: writeNative, close: closeNative });

export interface SecureOptions {
	/** The CA to trust, PEM or DER: the only trust anchor. */
	certificate: ArrayBuffer | ArrayBufferView;
	/** The client's certificate chain, leaf first, each PEM or DER. */
	clientCertificates?: readonly (ArrayBuffer | ArrayBufferView)[];
	/** The private key of clientCertificates[0], PEM or DER, unencrypted. */
	clientKey?: ArrayBuffer | ArrayBufferView;
	/** SNI and the name to verify; defaults to `host`. */
	serverName?: string;
}

const secureNames = ["certificate", "clientCertificates", "clientKey", "serverName", "verify"];
const otherNames: Record<string, string> = { ca: "certificate", cert: "clientCertificates", key: "clientKey", servername: "serverName" };

function isBytes(value: unknown): value is Bytes {
	return (value instanceof ArrayBuffer) || (ArrayBuffer.isView(value) && !(value instanceof DataView));
}

function nonEmptyBytes(value: unknown, what: string): Bytes {
	if (value instanceof DataView)
		value = new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
	if (!isBytes(value) || !value.byteLength)
		throw new TypeError(`tls: ${what} must be a non-empty ArrayBuffer`);
	return value;
}

function checkSecure(secure: unknown, host: string | undefined): { serverName: string } & SecureOptions {
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
		certificate,
		...(clientCertificates ? { clientCertificates } : {}),
		...(clientKey ? { clientKey } : {}),
		serverName,
	};
}

class TLS extends SimulatedSocket {
	constructor(options: Options) {
		const settings = options as Options & Callbacks & { address?: string; host?: string; port?: number; secure?: unknown; TCP?: unknown };
		const address = settings.address ?? settings.host;
		const port = settings.port;
		if ((typeof address !== "string") || !address.length || (typeof port !== "number") || !Number.isInteger(port) || (port < 1) || (port > 65535))
			throw new TypeError("tls: address (or host) and port are required");
		checkFormat("tls", settings.format);
		if ((settings.host !== undefined) && (typeof settings.host !== "string"))
			throw new TypeError("tls: host must be a string");
		if ((settings.TCP !== undefined) && ((typeof settings.TCP !== "object") || (settings.TCP === null)))
			throw new TypeError("tls: TCP must be { io: TCP } as on the device");
		const secure = checkSecure(settings.secure, settings.host);
		super("tls", natives, settings, address, port,
			(relay) => connectNative(relay, address, port, secure.serverName, secure.certificate, secure.clientCertificates, secure.clientKey));
	}

	/** Up to byteLength bytes of plaintext (all there is when omitted). */
	override read(byteLength?: number): ArrayBuffer {
		if ((byteLength !== undefined) && (!Number.isInteger(byteLength) || (byteLength < 0)))
			throw new RangeError(`tls: invalid read length ${byteLength}`);
		return super.read(byteLength);
	}

	override write(buffer: Bytes): void {
		if (buffer instanceof DataView)
			buffer = new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
		if (!isBytes(buffer))
			throw new TypeError("tls: write takes an ArrayBuffer or a typed array");
		super.write(buffer);
	}
}

Object.freeze(TLS.prototype);

export default TLS as unknown as typeof TLSClass;
