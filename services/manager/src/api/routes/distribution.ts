// /distribution/{image}/json: Docker resolves an image reference to a digest through the registry
// here, so that every task of a service runs the same image. Shoal has no image handling yet, so it
// answers 501; the docker CLI then warns and sends the reference unpinned, and the service is
// created as usual. Owns nothing else.
import { ApiError } from "../errors.js";
import type { RoutePlugin } from "./context.js";

export const DIGEST_UNAVAILABLE = "image digest resolution is not available yet; the image reference is used as given";

export const distributionRoutes: RoutePlugin = async (app) => {
  // Image names contain slashes (registry.example:5000/team/app:1), hence the wildcard.
  app.get<{ Params: { "*": string } }>("/distribution/*", { schema: { summary: "Resolve an image's digest (not available yet: 501)", tags: ["distribution"] } }, async (req) => {
    const path = req.params["*"];
    if (!path.endsWith("/json")) throw new ApiError({ code: "API_NOT_FOUND" }, `page not found: ${req.method} ${req.url}`);
    throw new ApiError({ code: "API_NOT_IMPLEMENTED", image: path.slice(0, -"/json".length) }, DIGEST_UNAVAILABLE);
  });
};
