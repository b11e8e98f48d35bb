// The global that only the Doorward simulator host defines (hardware/sim/host/host.c).

declare global {
	const host: {
		/** Arguments after `--` on the host's command line. */
		readonly argv: readonly string[];
		/** The version of the XS engine the host was built from. */
		readonly xsVersion: string;
		/** Ends the run loop; the process exits with `code` once the current job returns. */
		exit(code?: number): void;
		/** A file's bytes: for the tools that drive the firmware's code (tools/xs), never the firmware. */
		readFile(path: string): ArrayBuffer;
		/** Collects garbage, then reports the machine's live chunk bytes and slots. */
		memory(): { chunks: number; slots: number };
	};
}

export {};
