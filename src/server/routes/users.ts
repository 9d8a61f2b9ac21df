// Console users, managed by admins: list, create, change role, reset password, delete. The store keeps at
// least one admin (a demotion or deletion that would leave none is a conflict).

import { Hono } from "hono";
import { z } from "zod";
import { USER_ROLES } from "../../core/access.ts";
import { NotFoundError, UsageError } from "../../core/errors.ts";
import { createUser, hashPassword, passwordProblem, usernameProblem } from "../auth.ts";
import { type AppEnv, readBody, requireAdmin, type ServerContext } from "../context.ts";
import { requestActor } from "../request-actor.ts";

const CreateSchema = z.object({ username: z.string(), password: z.string(), role: z.enum(USER_ROLES) }).strict();
const UpdateSchema = z.object({ role: z.enum(USER_ROLES).optional(), password: z.string().optional() }).strict();

function checkPassword(password: string): void {
  const problem = passwordProblem(password);
  if (problem) throw new UsageError(problem);
}

export function userRoutes(ctx: ServerContext): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const store = ctx.runtime.store;
  app.get("/users", requireAdmin, async (c) => c.json({ users: await store.listUsers() }));

  app.post("/users", requireAdmin, async (c) => {
    const body = await readBody(c, CreateSchema);
    const problem = usernameProblem(body.username);
    if (problem) throw new UsageError(problem);
    checkPassword(body.password);
    return c.json({ user: await createUser(store, body.username, body.password, body.role) }, 201);
  });

  app.patch("/users/:id", requireAdmin, async (c) => {
    const body = await readBody(c, UpdateSchema);
    let user = await store.getUser(c.req.param("id"));
    if (user === null) throw new NotFoundError(`There is no user with id ${c.req.param("id")}.`);
    if (body.password !== undefined) checkPassword(body.password);
    // The role first: it is the change that can be refused (the last admin), and a refused request changes
    // nothing, so the password must not be set (and the user's sessions ended) before it.
    if (body.role !== undefined && body.role !== user.role) user = await store.setUserRole(user.id, body.role);
    if (body.password !== undefined) {
      // Ends the user's sessions: whoever held the old password is out.
      await store.setUserPassword(user.username, await hashPassword(body.password));
    }
    return c.json({ user });
  });

  app.delete("/users/:id", requireAdmin, async (c) => {
    await store.deleteUser(c.req.param("id"), requestActor(c));
    return c.json({ ok: true });
  });

  return app;
}
