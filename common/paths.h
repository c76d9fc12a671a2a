/*
 * Where secretd, its front-end and runtools look when nothing names a
 * path: each default is built from the configure directories (Makefile.am
 * passes them), so programs built together agree on the config file and
 * the socket.  The config file, -c and --url override them at run time.
 */
#ifndef SECRETD_PATHS_H
#define SECRETD_PATHS_H

#if !defined(SYSCONFDIR) || !defined(LOCALSTATEDIR) || \
    !defined(RUNSTATEDIR) || !defined(LIBEXECDIR)
#error "SYSCONFDIR, LOCALSTATEDIR, RUNSTATEDIR and LIBEXECDIR come from Makefile.am"
#endif

#define SECRETD_CONF_FILE	SYSCONFDIR "/secretd/secretd.conf"
#define SECRETD_TOOLS_DIR	SYSCONFDIR "/secretd/tools.d"
#define SECRETD_STATE_DIR	LOCALSTATEDIR "/lib/secretd"
#define SECRETD_SOCKET		RUNSTATEDIR "/secretd/secretd.sock"
#define SECRETD_LIBEXEC_DIR	LIBEXECDIR
#define SECRETD_FRONTEND_NAME	"secretd-frontend"
#define SECRETD_FRONTEND_PATH	LIBEXECDIR "/" SECRETD_FRONTEND_NAME
#define SECRETD_RUNNER_NAME	"secretd-runner"
#define SECRETD_RUNNER_PATH	LIBEXECDIR "/" SECRETD_RUNNER_NAME

#endif
