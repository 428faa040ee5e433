// 64-bit fields decode as plain numbers: every ID, term and index we use is a safe integer, and
// Long objects would leak into the pure core. This module must be evaluated before any generated
// module (their field defaults are computed at load time), so index.ts imports it first.
import $protobuf from "protobufjs/minimal.js";

$protobuf.util.Long = undefined as unknown as typeof $protobuf.util.Long;
$protobuf.configure();
