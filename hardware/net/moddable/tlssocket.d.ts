// The ECMA-419 TLS socket that Moddable builds from examples/io/tcp/tlssocket
// on esp32 and lin. Moddable's tsc does not see the declaration in
// @moddable/typings once the manifest maps the specifier to that JavaScript,
// so the manifest maps this file beside it (as for the camera). Only for
// mcconfig: our own tsconfig uses @moddable/typings' declaration.
declare module "embedded:io/socket/tcp/tls" {
	import type { Options as TCPOptions } from "embedded:io/socket/tcp";
	export type Options = TCPOptions & {
		host: string;
		secure: Record<string, unknown>;
		TCP?: { io: unknown };
	};
	export default class TLSSocket {
		constructor(options: Options);
		close(): void;
		read(count?: number): ArrayBuffer | undefined;
		write(buffer: ArrayBuffer | ArrayBufferView): number;
		get format(): string;
		set format(format: string);
	}
}
