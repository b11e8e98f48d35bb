/*
 * `doorward factory ca` and `doorward factory provision`: the factory
 * station, as commands (docs/factory.md).
 */
import { parseArgs } from "node:util";
import { resolve } from "node:path";
import { simulatorBuild } from "../build/firmware.js";
import { FactoryError, createCa, provision } from "./factory.js";

export const factoryUsage = `  factory ca --out DIR [--name NAME]
                 create the factory CA in DIR (ca.key mode 0600, ca.pem)
  factory provision --ca DIR --flash FILE --broker mqtts://HOST:PORT --broker-ca FILE
      --update-root ROOT --model M --hardware-revision R [--label-dir DIR] [--manifest FILE]
                 provision the simulated device whose flash is FILE: its CSR,
                 a certificate from the factory CA, its configuration, the
                 update root (doorward release root init), the lock; writes
                 its pairing label and a manifest line
`;

/** Runs `doorward factory ...`; 0 on success, 1 on an error the operator can act on, 2 on bad usage. */
export async function factoryCommand(args: string[], say: (line: string) => void, print: (line: string) => void): Promise<number> {
	const [sub, ...rest] = args;
	try {
		if (sub === "ca") {
			const { values } = parseArgs({ args: rest, options: { out: { type: "string" }, name: { type: "string" } }, strict: true });
			if (!values.out) {
				say(`doorward: factory ca: --out DIR is required\n${factoryUsage}`);
				return 2;
			}
			const { fingerprint } = createCa(values.out, values.name);
			say(`factory CA written to ${resolve(values.out)} (ca.key mode 0600: keep it offline), SHA-256 ${fingerprint}`);
			return 0;
		}
		if (sub === "provision") {
			const { values } = parseArgs({
				args: rest,
				options: {
					ca: { type: "string" }, flash: { type: "string" }, broker: { type: "string" }, "broker-ca": { type: "string" }, "update-root": { type: "string" },
					model: { type: "string" }, "hardware-revision": { type: "string" }, "label-dir": { type: "string" }, manifest: { type: "string" },
				},
				strict: true,
			});
			const missing = ["ca", "flash", "broker", "broker-ca", "update-root", "model", "hardware-revision"].filter((name) => !values[name as keyof typeof values]);
			if (missing.length) {
				say(`doorward: factory provision: ${missing.map((name) => `--${name}`).join(", ")} required\n${factoryUsage}`);
				return 2;
			}
			const entry = await provision({
				ca: values.ca!, flash: values.flash!, broker: values.broker!, brokerCa: values["broker-ca"]!, updateRoot: values["update-root"]!,
				model: values.model!, hardwareRevision: values["hardware-revision"]!,
				...(values["label-dir"] ? { labelDir: values["label-dir"] } : {}),
				...(values.manifest ? { manifest: values.manifest } : {}),
				build: simulatorBuild(), say, print,
			});
			say(`provisioned device ${entry.deviceId} (topic id ${entry.topicId}, certificate ${entry.certificateSerial})`);
			return 0;
		}
		say(`doorward: factory ${sub ?? ""}: expected ca or provision\n${factoryUsage}`);
		return 2;
	}
	catch (error) {
		if (error instanceof FactoryError) {
			say(`doorward: factory ${sub}: ${error.message}`);
			return 1;
		}
		if ((error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
			say(`doorward: factory ${sub}: ${(error as Error).message}`);
			return 2;
		}
		throw error;
	}
}
