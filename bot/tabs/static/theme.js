// The Teams themes as Fluent design tokens (@fluentui/tokens), and Fluent UI's web components, both served from
// kambot's own origin. Every page loads this module; the tabs call applyTheme again when Teams reports a theme.
import "./fluent.js";
import { teamsDarkTheme, teamsHighContrastTheme, teamsLightTheme } from "./fluent-tokens/index.js";

const THEMES = { default: teamsLightTheme, dark: teamsDarkTheme, contrast: teamsHighContrastTheme };

// Teams names its themes "default", "dark" and "contrast"; anything else is the default.
export function applyTheme(name) {
  const theme = Object.hasOwn(THEMES, name) ? name : "default";
  globalThis.Fluent.setTheme(THEMES[theme]);
  for (const other of Object.keys(THEMES)) document.body.classList.toggle("theme-" + other, other === theme);
  return theme;
}

const asked = new URLSearchParams(location.search).get("theme");
const rendered = Object.keys(THEMES).find((name) => document.body.classList.contains("theme-" + name));
applyTheme(asked || rendered);
