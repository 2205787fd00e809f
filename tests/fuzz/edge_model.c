/*
 * edge_model.c - fuzz target for the edge's --device-model MODEL=APP[/PLATFORM[/CHANNEL]]
 * parser (edge-check/req.c edge_model_add): a spec is added whole or not at
 * all, every stored part is a valid id, a model is found once added, and the
 * table never overflows.
 */
#include "common/compat.h"

#include "../../edge-check/edge.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct edge_config cfg;
    char spec[1024];
    if (size >= sizeof(spec))
        size = sizeof(spec) - 1;
    memcpy(spec, data, size);
    spec[size] = '\0';
    memset(&cfg, 0, sizeof(cfg));
    /* twice: the second add of the same model must be refused */
    for (int i = 0; i < 2; i++) {
        size_t before = cfg.n_models;
        int rc = edge_model_add(&cfg, spec);
        if (rc == 0 ? cfg.n_models != before + 1 : cfg.n_models != before)
            abort();
        if (i == 1 && rc == 0)
            abort();
        if (rc == 0 && edge_model_find(&cfg, cfg.models[cfg.n_models - 1].model) != &cfg.models[cfg.n_models - 1])
            abort();
    }
    for (size_t i = 0; i < cfg.n_models; i++) {
        const struct edge_model *m = &cfg.models[i];
        if (!cmn_id_valid_n(m->model, strlen(m->model)) || !cmn_id_valid_n(m->app, strlen(m->app)) ||
            !cmn_id_valid_n(m->platform, strlen(m->platform)) || !cmn_id_valid_n(m->channel, strlen(m->channel)))
            abort();
    }
    return 0;
}
