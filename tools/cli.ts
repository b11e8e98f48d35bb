/*
 * The `doorward` command: one entry point for the host-side tools.
 * Errors a person can act on are one line on stderr with a non-zero exit;
 * a stack trace means a bug.
 */
import { parseArgs } from "node:util";
import { buildFirmware, buildSanitizedHost } from "./build/firmware.js";
import { ManifestError } from "./build/manifest.js";
import { BuildError } from "./build/firmware.js";
import { SceneError } from "./sim/scene.js";
import { runSim, defaultScene, UsageError } from "./sim/run.js";
import { keygen, label, pair, parseNetwork, open, PhoneFileError } from "./phone/commands.js";
import { OnboardingError } from "./phone/onboarding.js";
import { EnvelopeError } from "./phone/open.js";
import { pairLin } from "./phone/lin.js";
import { changeRole, invite, remove } from "./phone/owner.js";
import { RequestError } from "./phone/requests.js";
import { auditCommand } from "./phone/audit.js";
import { releaseCommand, releaseUsage } from "./release/commands.js";
import { factoryCommand, factoryUsage } from "./factory/commands.js";
import { detectCommand, detectUsage, DetectUsageError } from "./detect/commands.js";
import { DetectError } from "./detect/run.js";
import { runLive } from "./live/run.js";
import { LiveError } from "./phone/live.js";
import { appCommand } from "./app/command.js";

const usage = () => `usage: doorward <command> [options]

commands:
  sim [--scene DIR] [--events N] [--broker mqtt[s]://HOST:PORT] [--json]
      [--out DIR] [--flash FILE] [--phone FILE] [--timeout SECONDS]
      [--ca FILE --phone-cert FILE --phone-key FILE [--cert FILE --key FILE]]
                 run the firmware in the simulator host with a scripted scene
  live --phone FILE --flash FILE [--seconds N] [--size qvga|vga] [--out DIR] [--json]
                 the simulated device whose flash is FILE, its live view
                 watched by that (paired) phone: frames decrypted into DIR
                 (default out/live); --json: one line per frame, then a summary
  app [--flash FILE] [--port N] [--scene DIR] [--network SSID:PASSPHRASE]...
      [--no-timeline] [--out DIR]
                 the owner's app in a browser (http://127.0.0.1:N/, default
                 8470) against a simulated doorbell, with the embedded broker
                 and its MQTT-over-WebSocket listener; prints the URL and the
                 device's label; Ctrl-C stops it
  build [--sanitized]
                 compile the firmware and link the simulator host (and, with
                 --sanitized, a copy built with ASan and UBSan for the tests)
  phone keygen --out FILE [--name NAME]
                 create a phone identity (the stand-in for the owner's app)
  label --flash FILE [--json]
                 the printed label of the simulated device whose flash is FILE
                 (made on first use, kept as FILE.label.json): device id,
                 fingerprint, setup code, manual code, QR payload
  pair --phone FILE [--flash FILE] --code CODE [--wifi SSID:PASSPHRASE]
      [--network SSID:PASSPHRASE]... [--fingerprint FP] [--reset-device]
                 onboard that phone with the simulated device whose flash is
                 FILE (default out/device.bin) over its simulated BLE link, with
                 the label's setup code; --wifi is the network the phone gives
                 the device, --network one the simulated world has in range;
                 --reset-device accepts new keys for a device id the phone
                 knows with others (and forgets what it opened of it)
  pair --lin --phone FILE --device-id ID --code CODE [--wifi SSID:PASSPHRASE]
      [--fingerprint FP] [--timeout SECONDS] [--reset-device]
                 onboard that phone with the firmware running in Moddable's lin
                 simulator (mcsim), over files in /tmp (doorward-link-*)
  invite --phone OWNER --flash FILE [--json]
                 the owner's phone sends the simulated device a signed
                 invitation (docs/protocol/requests.md) and prints its one-time
                 code (JSON {"code", "expires"}), which pair --code takes, once,
                 within 10 minutes
  remove --phone FILE --flash FILE --key-id ID
                 a signed removal: an owner's phone removes the phone whose
                 phone key fingerprint is ID, or a phone removes itself
  role --phone OWNER --flash FILE --key-id ID --role owner|member
                 an owner's signed request: the phone whose phone key
                 fingerprint is ID becomes an owner or a member (the device
                 keeps at least one owner)
  open --phone FILE EVENT [--out DIR] [--topic TOPIC]
                 verify and decrypt a captured event (event.dwe), once: the
                 phone file remembers it; TOPIC is the MQTT topic it came on
  audit --phone FILE [--json] EVENT_DIR...
                 verify the audit chain (docs/protocol/audit.md) of the audit
                 events in those folders and print it; exit 1 on a gap, a
                 reordering, a fork or a forged entry
${detectUsage}${factoryUsage}${releaseUsage}`;

function say(line: string): void {
	process.stderr.write(`${line}\n`);
}

async function sim(args: string[]): Promise<number> {
	const { values } = parseArgs({
		args,
		options: {
			scene: { type: "string" },
			events: { type: "string" },
			broker: { type: "string" },
			json: { type: "boolean", default: false },
			out: { type: "string", default: "out/sim" },
			flash: { type: "string" },
			phone: { type: "string" },
			ca: { type: "string" },
			cert: { type: "string" },
			key: { type: "string" },
			"phone-cert": { type: "string" },
			"phone-key": { type: "string" },
			timeout: { type: "string", default: "120" },
		},
		strict: true,
		allowPositionals: false,
	});
	const events = values.events === undefined ? undefined : Number(values.events);
	if ((events !== undefined) && (!Number.isInteger(events) || (events < 1)))
		throw new UsageError(`--events ${values.events}: expected a whole number of events, at least 1`);
	const timeoutSeconds = Number(values.timeout);
	if (!(timeoutSeconds > 0))
		throw new UsageError(`--timeout ${values.timeout}: expected a number of seconds`);
	return runSim({
		scene: values.scene ?? defaultScene,
		...(events !== undefined ? { events } : {}),
		...(values.broker !== undefined ? { broker: values.broker } : {}),
		json: values.json!,
		out: values.out!,
		...(values.flash !== undefined ? { flash: values.flash } : {}),
		...(values.phone !== undefined ? { phone: values.phone } : {}),
		...((values.ca && values["phone-cert"] && values["phone-key"])
			? { tls: { ca: values.ca, phoneCert: values["phone-cert"], phoneKey: values["phone-key"], ...(values.cert ? { cert: values.cert } : {}), ...(values.key ? { key: values.key } : {}) } }
			: {}),
		timeoutSeconds,
		say,
		print: (line) => process.stdout.write(`${line}\n`),
	});
}

async function live(args: string[]): Promise<number> {
	const { values } = parseArgs({
		args,
		options: {
			phone: { type: "string" },
			flash: { type: "string" },
			seconds: { type: "string", default: "60" },
			size: { type: "string", default: "qvga" },
			out: { type: "string", default: "out/live" },
			json: { type: "boolean", default: false },
		},
		strict: true,
		allowPositionals: false,
	});
	if (!values.phone || !values.flash)
		throw new UsageError("live: --phone FILE and --flash FILE are required");
	const seconds = Number(values.seconds);
	if (!Number.isInteger(seconds) || (seconds < 1) || (seconds > 300))
		throw new UsageError(`--seconds ${values.seconds}: a whole number of seconds, 1 to 300`);
	if ((values.size !== "qvga") && (values.size !== "vga"))
		throw new UsageError(`--size ${values.size}: qvga or vga`);
	return runLive({
		phone: values.phone, flash: values.flash, seconds, size: values.size, out: values.out!, json: values.json!,
		say, print: (line) => process.stdout.write(`${line}\n`),
	});
}

export async function main(argv: string[]): Promise<number> {
	const [command, ...args] = argv;
	try {
		switch (command) {
		case "sim":
			return await sim(args);
		case "live":
			return await live(args);
		case "phone": {
			const [sub, ...rest] = args;
			if (sub !== "keygen")
				throw new UsageError(`phone ${sub ?? ""}: the phone command has one subcommand, keygen`);
			const { values } = parseArgs({ args: rest, options: { out: { type: "string" }, name: { type: "string", default: "phone" } }, strict: true });
			if (!values.out)
				throw new UsageError("phone keygen: --out FILE is required");
			keygen(values.out, values.name!, say);
			return 0;
		}
		case "label": {
			const { values } = parseArgs({ args, options: { flash: { type: "string" }, json: { type: "boolean", default: false } }, strict: true });
			if (!values.flash)
				throw new UsageError("label: --flash FILE is required");
			return await label(values.flash, values.json!, (line) => process.stdout.write(`${line}\n`), () => {});
		}
		case "pair": {
			const { values } = parseArgs({
				args,
				options: {
					phone: { type: "string" }, flash: { type: "string" }, code: { type: "string" }, wifi: { type: "string" }, network: { type: "string", multiple: true },
					"device-id": { type: "string" }, fingerprint: { type: "string" }, lin: { type: "boolean", default: false }, timeout: { type: "string", default: "10" }, "reset-device": { type: "boolean", default: false },
				},
				strict: true,
			});
			if (!values.phone)
				throw new UsageError("pair: --phone FILE is required");
			if (!values.code)
				throw new UsageError("pair: --code CODE is required (the setup code on the device's label)");
			const wifi = values.wifi !== undefined ? parseNetwork(values.wifi, "--wifi") : undefined;
			if (values.lin) {
				if (values.flash !== undefined)
					throw new UsageError("pair: --lin pairs with the device running in mcsim; --flash names a simulated device");
				if (!values["device-id"])
					throw new UsageError("pair: --lin needs --device-id ID, from the label (the device logs it at boot)");
				const timeoutSeconds = Number(values.timeout);
				if (!(timeoutSeconds > 0))
					throw new UsageError(`--timeout ${values.timeout}: expected a number of seconds`);
				return await pairLin(values.phone, { deviceId: values["device-id"], code: values.code, ...(wifi ? { wifi } : {}) }, values.fingerprint, say, { timeoutMs: timeoutSeconds * 1000, resetDevice: values["reset-device"] });
			}
			return await pair(values.phone, values.flash ?? "out/device.bin", {
				code: values.code,
				...(wifi ? { wifi } : {}),
				networks: (values.network ?? []).map((network) => parseNetwork(network, "--network")),
				...(values.fingerprint ? { fingerprint: values.fingerprint } : {}),
				resetDevice: values["reset-device"]!,
			}, say);
		}
		case "remove": {
			const { values } = parseArgs({ args, options: { phone: { type: "string" }, flash: { type: "string" }, "key-id": { type: "string" } }, strict: true });
			if (!values.phone || !values.flash || !values["key-id"])
				throw new UsageError("remove: --phone FILE, --flash FILE and --key-id ID are required");
			return await remove(values.phone, values.flash, values["key-id"], say);
		}
		case "role": {
			const { values } = parseArgs({ args, options: { phone: { type: "string" }, flash: { type: "string" }, "key-id": { type: "string" }, role: { type: "string" } }, strict: true });
			if (!values.phone || !values.flash || !values["key-id"] || !values.role)
				throw new UsageError("role: --phone OWNER, --flash FILE, --key-id ID and --role owner|member are required");
			return await changeRole(values.phone, values.flash, values["key-id"], values.role, say);
		}
		case "invite": {
			const { values } = parseArgs({ args, options: { phone: { type: "string" }, flash: { type: "string" }, json: { type: "boolean", default: false } }, strict: true });
			if (!values.phone || !values.flash)
				throw new UsageError("invite: --phone OWNER and --flash FILE are required");
			return await invite(values.phone, values.flash, values.json!, (line) => process.stdout.write(`${line}\n`), say);
		}
		case "open": {
			const { values, positionals } = parseArgs({ args, options: { phone: { type: "string" }, out: { type: "string" }, topic: { type: "string" } }, strict: true, allowPositionals: true });
			if (!values.phone || (positionals.length !== 1))
				throw new UsageError("open: --phone FILE and one EVENT file are required");
			return await open(values.phone, positionals[0], values.out, (line) => process.stdout.write(`${line}\n`), values.topic, say);
		}
		case "audit": {
			const { values, positionals } = parseArgs({ args, options: { phone: { type: "string" }, json: { type: "boolean", default: false } }, strict: true, allowPositionals: true });
			if (!values.phone || !positionals.length)
				throw new UsageError("audit: --phone FILE and at least one EVENT_DIR are required");
			return await auditCommand(values.phone, positionals, values.json!, (line) => process.stdout.write(`${line}\n`));
		}
		case "app":
			return await appCommand(args, say);
		case "detect":
			return await detectCommand(args, (line) => process.stdout.write(`${line}\n`));
		case "factory":
			return await factoryCommand(args, say, (line) => process.stdout.write(`${line}\n`));
		case "release":
			return await releaseCommand(args, say, (line) => process.stdout.write(`${line}\n`));
		case "build": {
			const { values } = parseArgs({ args, options: { sanitized: { type: "boolean", default: false } }, strict: true });
			buildFirmware(undefined, (line) => say(`build: ${line}`));
			if (values.sanitized) {
				say("build: linking the simulator host with AddressSanitizer and UndefinedBehaviorSanitizer (build/sim-sanitized)");
				buildSanitizedHost();
			}
			return 0;
		}
		case undefined:
		case "help":
		case "--help":
			process.stdout.write(usage());
			return command ? 0 : 2;
		default:
			say(`doorward: unknown command ${command}\n${usage()}`);
			return 2;
		}
	}
	catch (error) {
		if ((error instanceof UsageError) || (error instanceof SceneError) || (error instanceof ManifestError) || (error instanceof BuildError) || (error instanceof PhoneFileError) || (error instanceof OnboardingError) || (error instanceof EnvelopeError) || (error instanceof RequestError) || (error instanceof DetectError) || (error instanceof DetectUsageError) || (error instanceof LiveError)) {
			say(`doorward: ${error.message}`);
			return 1;
		}
		if ((error as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")) {
			say(`doorward: ${(error as Error).message}`);
			return 2;
		}
		throw error;
	}
}
