/** The console's entry: applies the theme before the first paint, then renders the app. */
import { render } from "preact";
import { App } from "./app";
import { applyTheme, storedTheme } from "./theme";
import "./styles.css";

applyTheme(storedTheme());
render(<App />, document.getElementById("app")!);
