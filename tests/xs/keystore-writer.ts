/*
 * Driven by tests/integration/keystore-cuts.test.ts: writes and reads the
 * simulator's keystore (hardware/keystore, over the host's flash) in a host
 * process that DOORWARD_FLASH_CUT_AFTER may power off at any flash write or
 * erase. Its one argument (host.argv[0]) is JSON:
 *   { writes: [[name, hex], ...], reads: [name, ...] }
 * The writes go first, in order; then it reports, as trace lines,
 *   keystore-writer wrote <name>
 *   keystore-writer read <name> value <hex> | absent | error <message>
 * and exits 0.
 */
import { read, write } from "hardware/keystore";
import { fromHex, toHex } from "util/bytes";

interface Job {
	writes?: [string, string][];
	reads?: string[];
}

const job = JSON.parse(host.argv[0] ?? "{}") as Job;
for (const [name, hex] of job.writes ?? []) {
	write(name, fromHex(hex));
	trace(`keystore-writer wrote ${name}\n`);
}
for (const name of job.reads ?? []) {
	try {
		const value = read(name);
		trace(`keystore-writer read ${name} ${value ? `value ${toHex(value)}` : "absent"}\n`);
	}
	catch (error) {
		trace(`keystore-writer read ${name} error ${(error as Error).message}\n`);
	}
}
host.exit(0);
