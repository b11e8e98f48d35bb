// `node --import ./tools/setup/register.mjs`: installs firmware-resolver.mjs.
import { register } from "node:module";

register("./firmware-resolver.mjs", import.meta.url);
