// Validates an unpacked Teams app package offline with Microsoft's manifest schemas
// (npm @microsoft/app-manifest): manifest.json and each localization file it names.
// Usage: node validate.mjs FOLDER. Prints {"errors": [{"file", "error"}]}; exit code 1 when any.
import { createRequire } from "node:module";
import { readFileSync, existsSync } from "node:fs";
import { join, dirname } from "node:path";

const require = createRequire(import.meta.url);
const { ManifestUtil } = require("@microsoft/app-manifest");
// The validator's own JSON-schema engine, resolved from where the validator lives.
const fromValidator = createRequire(require.resolve("@microsoft/app-manifest"));
const Ajv04 = fromValidator("ajv-draft-04").default;
const addFormats = fromValidator("ajv-formats").default;
const schemas = join(dirname(require.resolve("@microsoft/app-manifest/package.json")), "build", "json-schemas", "teams");

function readJson(path) {
  return JSON.parse(readFileSync(path, "utf8").replace(/^\uFEFF/, ""));
}

function missing(file, schemaFile) {
  return [{ file, error: `no schema ${schemaFile.split("/").slice(-2).join("/")} in @microsoft/app-manifest` }];
}

async function checkManifest(file, document, schemaFile) {
  if (!existsSync(schemaFile)) return missing(file, schemaFile);
  const errors = await ManifestUtil.validateManifestAgainstSchema(document, readJson(schemaFile));
  return errors.map((error) => ({ file, error }));
}

// The localization schemas hold patterns (\b inside a character class) that the validator's engine
// refuses to compile in its default unicode mode; the same engine, settings and formats, without it.
function checkLocalization(file, document, schemaFile) {
  if (!existsSync(schemaFile)) return missing(file, schemaFile);
  const ajv = new Ajv04({ allErrors: true, strictTypes: false, unicodeRegExp: false });
  addFormats(ajv, ["uri", "email", "regex"]);
  const validateFile = ajv.compile(readJson(schemaFile));
  if (validateFile(document)) return [];
  return validateFile.errors.map((e) => ({ file, error: `${e.instancePath} ${e.message}. Details: ${JSON.stringify(e.params)}` }));
}

const folder = process.argv[2];
const errors = [];
try {
  const manifest = readJson(join(folder, "manifest.json"));
  const version = "v" + manifest.manifestVersion;
  errors.push(...(await checkManifest("manifest.json", manifest, join(schemas, version, "MicrosoftTeams.schema.json"))));
  for (const language of (manifest.localizationInfo && manifest.localizationInfo.additionalLanguages) || []) {
    const path = join(folder, language.file);
    if (!existsSync(path)) continue; // the package check reports the missing file
    const schema = join(schemas, version, "MicrosoftTeams.Localization.schema.json");
    errors.push(...checkLocalization(language.file, readJson(path), schema));
  }
} catch (error) {
  errors.push({ file: "manifest.json", error: String(error.message || error) });
}
process.stdout.write(JSON.stringify({ errors }) + "\n");
process.exit(errors.length ? 1 : 0);
