-- One function per endpoint of the OpenTofu provider and module registry protocols: each
-- returns the response document as jsonb, or NULL where the registry answers 404, so an API
-- in any language serves a complete registry (or an air-gapped mirror) from this database.
-- Names are matched lower-cased (the registry treats them case-insensitively); versions as
-- the protocol lists them, without a leading `v`. SECURITY INVOKER (the default): a caller
-- needs SELECT on the tables, which the application role has.

-- GET /v1/providers/:namespace/:type/versions
-- {"versions": [{"version", "protocols", "platforms": [{"os", "arch"}]}], "warnings"?}
-- The document import stored with the rows where there is one (versions and platforms in
-- the file's order, as the registry serves them), else built from the rows (in version
-- order; the protocol sets none). A provider without versions (its file lists none) gets an
-- empty list; an unknown one NULL.
CREATE OR REPLACE FUNCTION registry_provider_versions(namespace text, type text)
RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    WITH provider AS (
        SELECT lower(registry_provider_versions.namespace) AS namespace, lower(registry_provider_versions.type) AS name
    ), registered AS (
        SELECT r.warnings, r.versions_document FROM public.registry_providers r, provider
         WHERE r.namespace = provider.namespace AND r.name = provider.name
    )
    SELECT COALESCE(
        (SELECT versions_document FROM registered),
        (SELECT jsonb_build_object('versions', COALESCE(jsonb_agg(jsonb_build_object(
                    'version', p.version,
                    'protocols', to_jsonb(p.protocols),
                    'platforms', COALESCE((SELECT jsonb_agg(jsonb_build_object('os', pp.os, 'arch', pp.arch) ORDER BY pp.os, pp.arch)
                                             FROM public.provider_platforms pp
                                            WHERE pp.namespace = p.namespace AND pp.name = p.name AND pp.version = p.version), '[]'::jsonb)
                ) ORDER BY p.version) FILTER (WHERE p.id IS NOT NULL), '[]'::jsonb))
                || COALESCE((SELECT jsonb_build_object('warnings', to_jsonb(warnings)) FROM registered WHERE cardinality(warnings) > 0), '{}'::jsonb)
           FROM provider
           LEFT JOIN public.providers p ON p.namespace = provider.namespace AND p.name = provider.name
         HAVING count(p.id) > 0 OR EXISTS (SELECT 1 FROM registered))
    )
$$;

-- GET /v1/providers/:namespace/:type/:version/download/:os/:arch
-- The signing keys are the namespace's (keys/<l>/<namespace>/*.asc) and then the provider's
-- own (keys/<l>/<namespace>/<type>/*.asc), each in file-name order; the registry serves its
-- hashicorp providers from the opentofu namespace's mirrors, signed with opentofu's keys.
CREATE OR REPLACE FUNCTION registry_provider_download(namespace text, type text, version text, os text, arch text)
RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT jsonb_build_object(
               'protocols', to_jsonb(p.protocols),
               'os', pp.os,
               'arch', pp.arch,
               'filename', pp.filename,
               'download_url', pp.download_url,
               'shasums_url', COALESCE(p.shasums_url, ''),
               'shasums_signature_url', COALESCE(p.shasums_signature_url, ''),
               'shasum', pp.shasum,
               'signing_keys', jsonb_build_object('gpg_public_keys', COALESCE((
                   SELECT jsonb_agg(jsonb_build_object('key_id', k.key_id, 'ascii_armor', k.ascii_armor) ORDER BY k.provider <> '', k.file_name)
                     FROM public.signing_keys k
                    WHERE k.namespace = CASE WHEN p.namespace = 'hashicorp' THEN 'opentofu' ELSE p.namespace END
                      AND k.provider IN ('', p.name)), '[]'::jsonb))
           )
      FROM public.providers p
      JOIN public.provider_platforms pp ON pp.namespace = p.namespace AND pp.name = p.name AND pp.version = p.version
     WHERE p.namespace = lower(registry_provider_download.namespace)
       AND p.name = lower(registry_provider_download.type)
       AND p.version = registry_provider_download.version
       AND pp.os = registry_provider_download.os
       AND pp.arch = registry_provider_download.arch
$$;

-- GET /v1/modules/:namespace/:name/:system/versions
-- {"modules": [{"versions": [{"version"}]}]}, in version order (the protocol sets none). Built
-- as text and parsed once: a jsonb object per version made a module with 600 versions take
-- several milliseconds.
CREATE OR REPLACE FUNCTION registry_module_versions(namespace text, name text, system text)
RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT CASE WHEN v.list IS NOT NULL
                  OR EXISTS (SELECT 1 FROM public.registry_modules r
                              WHERE r.namespace = lower(registry_module_versions.namespace) AND r.name = lower(registry_module_versions.name)
                                AND r.system = lower(registry_module_versions.system))
                THEN ('{"modules":[{"versions":[' || COALESCE(v.list, '') || ']}]}')::jsonb
           END
      FROM (SELECT string_agg('{"version":' || to_json(m.version)::text || '}', ',' ORDER BY m.version) AS list
              FROM public.modules m
             WHERE m.namespace = lower(registry_module_versions.namespace) AND m.name = lower(registry_module_versions.name)
               AND m.provider = lower(registry_module_versions.system)) v
$$;

-- GET /v1/modules/:namespace/:name/:system/:version/download
-- {"location": "git::<repository>?ref=<tag>"}: the repository the registry derives from the
-- module's path (https://github.com/<namespace>/terraform-<system>-<name>), and the Git tag
-- exactly as written (`v1.2.3` or `1.2.3`). A row from before tags were kept has the version.
CREATE OR REPLACE FUNCTION registry_module_download(namespace text, name text, system text, version text)
RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT jsonb_build_object('location',
               'git::' || COALESCE(m.source_url, 'https://github.com/' || m.namespace || '/terraform-' || m.provider || '-' || m.name)
               || '?ref=' || COALESCE(m.tag, m.version))
      FROM public.modules m
     WHERE m.namespace = lower(registry_module_download.namespace)
       AND m.name = lower(registry_module_download.name)
       AND m.provider = lower(registry_module_download.system)
       AND m.version = registry_module_download.version
$$;
